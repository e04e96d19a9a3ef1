// Baseline for bench/queue.mjs: a raw Unix-socket stream of length-prefixed messages between two
// plain node processes, no procsafe involved.
//   node queue-raw-stream.mjs recv PATH SIZE N WARMUP OUT   listens on PATH, reads WARMUP + N messages
//   node queue-raw-stream.mjs send PATH SIZE N WARMUP OUT   connects, writes them
// The receiver joins each message's chunks into one Buffer once (as any receiver of whole messages must,
// and as procsafe's frame decoder does);
// the sender writes the same Buffer each time (no copy) and honours backpressure. After the warm-up
// messages the receiver sends one byte back; the sender then takes t0 and writes N messages; the
// receiver takes t1 when the last one is whole. Times: process.hrtime.bigint() (CLOCK_MONOTONIC, shared).
import { writeFileSync } from 'node:fs';
import { once } from 'node:events';
import net from 'node:net';

const [mode, path, sizeArg, nArg, warmupArg, out] = process.argv.slice(2);
const size = Number(sizeArg);
const n = Number(nArg);
const warmup = Number(warmupArg);
const now = () => process.hrtime.bigint().toString();

if (mode === 'recv') {
  const server = net.createServer((socket) => {
    server.close();
    let chunks = [];
    let buffered = 0;
    let count = 0;
    socket.on('data', (chunk) => {
      chunks.push(chunk);
      buffered += chunk.length;
      while (buffered >= 4) {
        const head = chunks[0].length >= 4 ? chunks[0] : Buffer.concat(chunks);
        const length = head.readUInt32BE(0);
        if (buffered < 4 + length) break;
        const all = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, buffered);
        const message = all.subarray(4, 4 + length); // a whole message in one Buffer: the chunks joined once
        if (message.length !== size || message[size - 1] !== 0x61) throw new Error(`bad message ${count}`);
        const rest = all.subarray(4 + length);
        chunks = rest.length > 0 ? [rest] : [];
        buffered = rest.length;
        count++;
        if (count === warmup) socket.write(Buffer.from([1]));
        if (count === warmup + n) {
          writeFileSync(out, JSON.stringify({ t1: now(), count }));
          socket.end();
        }
      }
    });
  });
  server.listen(path, () => console.log('listening'));
} else if (mode === 'send') {
  const socket = net.connect(path);
  await once(socket, 'connect');
  const header = Buffer.alloc(4);
  header.writeUInt32BE(size);
  const message = Buffer.alloc(size, 0x61);
  const send = async (count) => {
    for (let i = 0; i < count; i++) {
      socket.write(header);
      if (!socket.write(message)) await once(socket, 'drain');
    }
  };
  const go = once(socket, 'data');
  await send(warmup);
  await go;
  const t0 = now();
  await send(n);
  writeFileSync(out, JSON.stringify({ t0 }));
  socket.end();
  await once(socket, 'close');
} else {
  throw new Error(`unknown mode ${mode}`);
}
