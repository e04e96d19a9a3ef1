// The queue owner's own work per item, without sockets, threads or wake-ups (not part of `npm run bench`):
//   npm run build && node bench/queue-broker-alone.mjs [N=200000]
// A Broker (src/broker/broker.ts) with two fake connections, fed in a tight loop as a streaming producer
// and reader feed it: bundles of 512 puts, bundles of 8 gets, one ack per item delivered. Prints µs per
// item for put + get + delivery + ack, this harness's own encoding and decoding included (about a
// third of it). Compare with the owner's CPU per item in `node bench/queue-ab.mjs stream`: the
// difference is what reading, writing and waking cost.
import { Broker } from '../dist/broker/broker.js';
import { encodeSimple } from '../dist/codec/fast-value.js';
import { OwnerSpills } from '../dist/queue/spill.js';
import { Outbox, unbundle } from '../dist/broker/bundle.js';
import { encodeText, FrameDecoder, parseFrame } from '../dist/transport/frame.js';
import { kBundle, kRequest } from '../dist/broker/protocol.js';

const n = Number(process.argv[2] ?? 200_000);
const kObject = '7';
const broker = new Broker({ drain: () => {}, log: (line) => console.error(line), spills: new OwnerSpills('/nonexistent/procsafe-alone.sock') });
broker.create({ kind: 'queue', object: kObject, secret: 'unused', maxMessageBytes: 1 << 20, size: 0 });

/** Just enough of a Connection: it records what the broker sends. */
function fakeConnection() {
  return {
    events: undefined, sent: [], closed: false,
    listen(events) { this.events = events; },
    send(chunks) { this.sent.push(...chunks); },
    destroy(reason) { throw reason ?? new Error('destroyed'); },
    set maxMessageBytes(_) {},
  };
}
const producer = fakeConnection();
const consumer = fakeConnection();
broker.accept(producer, 1, { object: kObject, nonce: Buffer.alloc(32, 1) });
broker.accept(consumer, 2, { object: kObject, nonce: Buffer.alloc(32, 2) });

const frameOf = (chunks) => parseFrame(Buffer.concat(chunks).subarray(4));
const item = encodeSimple(Buffer.alloc(8, 0x61));
let id = 1;
const run = async (count) => {
  for (let done = 0; done < count; done += 512) {
    const puts = new Outbox();
    for (let i = 0; i < 512; i++) puts.pushPart({ bundle: kBundle.Put, object: kObject, id: id++, fn: '', payload: [item] });
    producer.events.frame(frameOf(puts.take(1 << 20)));
    for (let got = 0; got < 512; got += 8) {
      const gets = new Outbox();
      for (let i = 0; i < 8; i++) gets.pushPart({ bundle: kBundle.Get, object: kObject, id: id++, fn: '', payload: [] });
      consumer.events.frame(frameOf(gets.take(1 << 20)));
      await Promise.resolve(); // the broker writes in a microtask
      const ids = [];
      new FrameDecoder(1 << 30).push(Buffer.concat(consumer.sent.splice(0)), (body) => unbundle(parseFrame(body), (part) => ids.push(part.fn.slice(part.fn.indexOf(' ') + 1))));
      for (const itemId of ids) consumer.events.frame(frameOf([encodeText(kRequest.Ack, 0, kObject, itemId)]));
    }
    await new Promise((resolve) => setImmediate(resolve));
    producer.sent.length = 0;
  }
};
await run(20_480); // warm-up
const t0 = process.hrtime.bigint();
await run(n);
const us = Number(process.hrtime.bigint() - t0) / 1000 / n;
console.log(`broker alone: ${us.toFixed(2)} µs per item (put, get, delivery, ack), harness included`);
