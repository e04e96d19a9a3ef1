// A client whose event loop is blocked (long synchronous work) while its link to
// an owner connects is not told the owner is gone: death is decided by evidence
// (the owner's pid, its socket), never by a clock that counts the client's own stall.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Queue } from 'procsafe';
import { serializeAfter } from '../../dist/codec/v8.js';
import { startChild, tempDir } from '../helpers/index.js';

/** Blocks this thread, as synchronous work would: no timer, socket or promise runs meanwhile. */
function block(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Longer than any wall-clock grace procsafe ever had for a connecting link (10 s). */
const kStallMs = 11_000;

test('a queue created here, then 11 s of blocking work: put and get still work (the owner is not declared gone)',
  { timeout: 60_000 }, async () => {
  const q = new Queue<number>();
  block(kStallMs);
  await q.put(1);
  assert.equal(await q.get({ timeoutMs: 5000 }), 1);
  assert.equal(await q.qsize(), 0);
});

test("a client blocked 11 s while its link connects reconnects and puts; the owner's log does not accuse it",
  { timeout: 60_000 }, async (t) => {
  const warnings: string[] = [];
  const onWarning = (warning: Error): void => { warnings.push(warning.message); };
  process.on('warning', onWarning);
  t.after(() => { process.off('warning', onWarning); });
  const q = new Queue<string>();
  await q.qsize(); // this owner's broker listens, so the child's first connect reaches it at once
  const dir = tempDir(t);
  const outcome = join(dir, 'outcome.json');
  // Serialized here and revived inside the stalled function, so its link's first
  // connection is made in the same turn the stall starts: the owner's Hello waits unread.
  const serialized = Buffer.concat(serializeAfter(Buffer.alloc(0), q, 'q', 'the queue'));
  const client = await startChild(t, 'stallThenPut', [serialized, kStallMs, outcome]);
  await client.join();
  assert.deepEqual(JSON.parse(readFileSync(outcome, 'utf8')), { ok: true });
  assert.equal(await q.get({ timeoutMs: 5000 }), 'after the stall');
  // The owner cut the silent connection after its handshake deadline: that may be
  // logged, but as what it is, not as a failed proof of the secret.
  assert.ok(warnings.some((message) => /did not complete the handshake within 5 s/.test(message)), `the owner did cut it: ${warnings.join('\n')}`);
  assert.ok(!warnings.some((message) => /proof/.test(message)), warnings.join('\n'));
});
