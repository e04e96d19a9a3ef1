// Garbage on a queue owner's socket, from peers that proved the secret and from
// peers that did not: every bad peer is cut off with a logged reason, the owner
// keeps serving, and nothing accepted is lost or duplicated.
import assert from 'node:assert/strict';
import { connect as netConnect } from 'node:net';
import { test } from 'node:test';
import { BrokerLost, Queue } from 'procsafe';
import { authFrame, connect } from '../../dist/transport/client.js';
import { encodeHead } from '../../dist/transport/frame.js';
import { kRequest } from '../../dist/broker/protocol.js';
import { prng } from '../helpers/prng.js';

interface HandleShape { path: string; object: string; secret: string }

/** Sends `chunks` on a proven link (or a raw socket), then waits until the owner hangs up or `ms` pass. */
async function attack(handle: HandleShape, chunks: Buffer[], proven: boolean, ms: number): Promise<void> {
  if (proven) {
    const { connection } = await connect(handle.path, handle.object, handle.secret, 1 << 20);
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => { connection.destroy(); resolve(); }, ms);
      connection.listen({ frame: () => {}, close: () => { clearTimeout(timer); resolve(); } });
      connection.send(chunks);
    });
    return;
  }
  await new Promise<void>((resolve) => {
    const socket = netConnect(handle.path);
    const timer = setTimeout(() => { socket.destroy(); resolve(); }, ms);
    socket.on('connect', () => { for (const chunk of chunks) socket.write(chunk); });
    socket.on('data', () => {});
    socket.on('error', () => {});
    socket.on('close', () => { clearTimeout(timer); resolve(); });
  });
}

test('fuzz: 10k random inputs from proven and unproven peers; the owner cuts them off and loses nothing',
  { timeout: 120_000 }, async () => {
  const warnings: string[] = [];
  const onWarning = (warning: Error): void => { warnings.push(warning.message); };
  process.on('warning', onWarning);
  try {
    const q = new Queue<number>({ maxsize: 64 });
    const handle = (q as unknown as Record<string, HandleShape>)['__procsafe_handle__'] as HandleShape;
    await q.qsize(); // the broker listens
    // Steady traffic through the same owner all along: 5000 items in order.
    const n = 5000;
    const producer = (async () => { for (let i = 0; i < n; i += 50) await q.putMany(Array.from({ length: 50 }, (_, j) => i + j)); })();
    const consumer = (async () => {
      const got: number[] = [];
      for (let i = 0; i < n; i++) got.push(await q.get({ timeoutMs: 30_000 }));
      return got;
    })();

    const random = prng(4242);
    const byte = (): number => Math.floor(random() * 256);
    let inputs = 0;
    let proven = 0;
    const batch: Promise<void>[] = [];
    while (inputs < 10_000) {
      const chunks: Buffer[] = [];
      for (let i = 0; i < 20; i++, inputs++) {
        const kind = random();
        if (kind < 0.5) {
          // A well-framed request of a random type (never a real close), random id, object and payload.
          let type = 40 + Math.floor(random() * 40);
          if (type === kRequest.Close) type++;
          const payload = Buffer.alloc(Math.floor(random() * 48), 0);
          for (let j = 0; j < payload.length; j++) payload[j] = byte();
          const fn = random() < 0.7 ? handle.object : String(Math.floor(random() * 1000));
          const head = encodeHead(type, Math.floor(random() * 2 ** 32), fn, payload.length, 0);
          chunks.push(head, payload);
        } else {
          const junk = Buffer.alloc(Math.floor(random() * 64));
          for (let j = 0; j < junk.length; j++) junk[j] = byte();
          // Sometimes a plausible or a huge length prefix.
          if (junk.length >= 4 && random() < 0.3) junk.writeUInt32BE(random() < 0.5 ? junk.length - 4 : 0xffff_fff0, 0);
          chunks.push(junk);
        }
      }
      const asProven = random() < 0.7;
      if (asProven) proven++;
      batch.push(attack(handle, chunks, asProven, 100));
      if (batch.length >= 16) await Promise.all(batch.splice(0));
    }
    await Promise.all(batch);
    await producer;
    const got = await consumer;
    // Random frames include real gets: a fuzzing peer may take items and then be cut off,
    // and those items come back to the front, so the order may change but not the set.
    assert.deepEqual([...got].sort((a, b) => a - b), Array.from({ length: n }, (_, i) => i), 'every item exactly once');
    const snapshot = await q.inspect();
    assert.equal(snapshot.accepted, n, 'no garbage was accepted as an item');
    assert.equal(snapshot.qsize, 0);
    assert.equal(snapshot.leased, 0);
    assert.equal(await q.full(), false);
    assert.ok(proven > 300);
    assert.ok(warnings.some((w) => /cut off peer \d+: /.test(w)), 'cut-offs are logged with a reason');
  } finally {
    process.off('warning', onWarning);
  }
});

test('a peer without the secret is refused; a proven peer naming another object with a wrong proof is cut off',
  { timeout: 20_000 }, async () => {
  const warnings: string[] = [];
  const onWarning = (warning: Error): void => { warnings.push(warning.message); };
  process.on('warning', onWarning);
  try {
    const q = new Queue<string>();
    const other = new Queue<string>();
    await q.put('safe');
    await other.put('secret stuff');
    const handle = (q as unknown as Record<string, HandleShape>)['__procsafe_handle__'] as HandleShape;
    const otherHandle = (other as unknown as Record<string, HandleShape>)['__procsafe_handle__'] as HandleShape;
    await assert.rejects(connect(handle.path, handle.object, 'not the secret', 1 << 20), BrokerLost);
    // Proven for q, then claims `other` with q's secret: cut off before any request is served.
    const { connection, nonce } = await connect(handle.path, handle.object, handle.secret, 1 << 20);
    const closed = new Promise<void>((resolve) => connection.listen({ frame: () => {}, close: () => resolve() }));
    connection.send([authFrame(otherHandle.object, handle.secret, nonce), encodeHead(kRequest.Get, 1, otherHandle.object, 0)]);
    await closed;
    assert.equal(await other.get(), 'secret stuff', 'the item was not given to the impostor');
    assert.equal(await q.get(), 'safe');
    while (!warnings.some((w) => /wrong proof of the secret/.test(w))) await new Promise((resolve) => setTimeout(resolve, 5));
  } finally {
    process.off('warning', onWarning);
  }
});
