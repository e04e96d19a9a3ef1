// Floor for the ping-pong of bench/queue.mjs: the same topology as a procsafe round trip through two
// queues (A → a thread of the main process → B → that thread → A), with bare Unix sockets and no
// protocol. In a worker thread (started by bench/queue.mjs with workerData.path) it is the relay:
// each client first sends its role byte ('A' or 'B'); after that every byte from one goes to the
// other, and A hears 'g' once both are there. As a process:
//   node queue-raw-relay.mjs B PATH                 echoes every chunk back
//   node queue-raw-relay.mjs A PATH N WARMUP RUNS   RUNS timed runs of N 16-byte round trips; prints JSON
// And the floor of the latency scenario, one way through the same relay, at the same pace:
//   node queue-raw-relay.mjs LB PATH COUNT          (as B) prints JSON { ns }: receipt minus send time of COUNT messages
//   node queue-raw-relay.mjs LA PATH COUNT MS       (as A) sends COUNT 8-byte send times, one per MS milliseconds
// And the floor of a small-item stream that keeps guarantee 3: the reader commits each item to the
// relay with its own write before it may use it (what a Queue reader's ack is), and the relay reads
// and drops those commits (role byte 'S'). ACK=0 leaves the commits out: the bare relay.
//   node queue-raw-relay.mjs SB PATH COUNT SIZE WARMUP ACK   prints JSON { seconds } for COUNT - WARMUP items
//   node queue-raw-relay.mjs SA PATH COUNT SIZE              writes COUNT items, 512 to a write, honouring backpressure
import { writeSync } from 'node:fs';
import net from 'node:net';
import { once } from 'node:events';
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { echoRoundTrip } from '../lib/common.mjs';

if (!isMainThread) {
  const peers = {};
  const server = net.createServer((socket) => {
    socket.once('data', (first) => {
      const role = String.fromCharCode(first[0]);
      if (role === 'S') {
        peers.B = socket;
        socket.on('data', () => {}); // the reader's commits: read and dropped
      } else {
        peers[role] = socket;
        socket.on('data', (chunk) => peers[role === 'A' ? 'B' : 'A']?.write(chunk));
      }
      if (peers.A && peers.B) peers.A.write('g');
    });
    socket.on('error', () => {});
  });
  server.listen(workerData.path, () => parentPort.postMessage('listening'));
} else {
  const [role, path, nArg, warmupArg, runsArg] = process.argv.slice(2);
  const socket = net.connect(path);
  await once(socket, 'connect');
  socket.write(role === 'SB' ? 'S' : role.slice(-1));
  if (role === 'SB') {
    const [count, size, warmup, ack] = [Number(nArg), Number(warmupArg), Number(runsArg), process.argv[7] === '1'];
    const commit = Buffer.alloc(4);
    let bytes = 0;
    let items = 0;
    let t0;
    socket.on('data', (chunk) => {
      bytes += chunk.length;
      for (; bytes >= size; bytes -= size) {
        items++;
        if (ack) {
          // Straight to the descriptor, as procsafe's reader does: the stream would gather the
          // commits of one chunk into one write, which is not a commit before each use.
          commit.writeUInt32LE(items);
          for (;;) {
            try {
              writeSync(socket._handle.fd, commit);
              break;
            } catch (error) {
              if (error.code !== 'EAGAIN') throw error;
            }
          }
        }
        if (items === warmup) t0 = process.hrtime.bigint();
      }
      if (items >= count) {
        console.log(JSON.stringify({ seconds: Number(process.hrtime.bigint() - t0) / 1e9 }));
        process.exit(0);
      }
    });
  } else if (role === 'SA') {
    await once(socket, 'data'); // 'g': the reader is connected
    const [count, size] = [Number(nArg), Number(warmupArg)];
    const chunk = Buffer.alloc(512 * size, 0x61);
    for (let sent = 0; sent < count; sent += 512) {
      if (!socket.write(sent + 512 <= count ? chunk : chunk.subarray(0, (count - sent) * size))) await once(socket, 'drain');
    }
    socket.on('close', () => process.exit(0));
  } else if (role === 'LB') {
    const ns = [];
    let held = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      const at = process.hrtime.bigint();
      held = held.length === 0 ? chunk : Buffer.concat([held, chunk]);
      for (; held.length >= 8; held = held.subarray(8)) ns.push(Number(at - held.readBigInt64LE(0)));
      if (ns.length >= Number(nArg)) {
        console.log(JSON.stringify({ ns }));
        process.exit(0);
      }
    });
  } else if (role === 'LA') {
    await once(socket, 'data'); // 'g': the receiver is connected
    for (let i = 0; i < Number(nArg); i++) {
      const message = Buffer.allocUnsafe(8);
      message.writeBigInt64LE(process.hrtime.bigint());
      socket.write(message);
      await new Promise((resolve) => setTimeout(resolve, Number(warmupArg)));
    }
    socket.on('close', () => process.exit(0));
  } else if (role === 'B') {
    socket.on('data', (chunk) => socket.write(chunk));
    socket.on('end', () => process.exit(0));
  } else {
    await once(socket, 'data'); // 'g': B is connected
    const roundTrip = echoRoundTrip(socket, socket);
    const loop = async (count) => {
      const t0 = performance.now();
      for (let i = 0; i < count; i++) await roundTrip();
      return ((performance.now() - t0) * 1000) / count;
    };
    await loop(Number(warmupArg));
    const us = [];
    for (let r = 0; r < Number(runsArg); r++) us.push(await loop(Number(nArg)));
    console.log(JSON.stringify({ us }));
    socket.end();
    process.exit(0);
  }
}
