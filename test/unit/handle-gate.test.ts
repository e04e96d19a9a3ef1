// The child loads Queue, Lock, Event and Barrier only when a handle's key arrives
// (child/handle-gate.ts): wherever the key falls in the byte stream it must be
// seen before any of those bytes are decoded, and nothing may be reordered.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { handleGate } from '../../dist/child/handle-gate.js';
import { kHandleKey } from '../../dist/codec/handles.js';

interface Run { delivered: string[]; loads: number; finish(): Promise<void>; feed(chunk: Buffer): void }

function gate(): Run {
  const run: Run = { delivered: [], loads: 0, finish: async () => {}, feed: () => {} };
  let release = (): void => {};
  const loaded = new Promise<void>((resolve) => { release = resolve; });
  run.feed = handleGate((chunk) => run.delivered.push(chunk.toString('latin1')), () => {
    run.loads++;
    return loaded;
  });
  run.finish = async () => {
    release();
    await loaded;
    await new Promise((resolve) => setImmediate(resolve));
  };
  return run;
}

const chunks = (text: string, ...cuts: number[]): Buffer[] =>
  [0, ...cuts].map((start, i) => Buffer.from(text.slice(start, cuts[i]), 'latin1'));

test('bytes without a handle pass straight through, and nothing is loaded', async () => {
  const run = gate();
  for (const chunk of chunks('abc__procsafe_handl', 2)) run.feed(chunk);
  run.feed(Buffer.from('e_ no key here', 'latin1'));
  assert.deepEqual(run.delivered, ['ab', 'c__procsafe_handl', 'e_ no key here']);
  await run.finish();
  assert.equal(run.loads, 0);
});

test('a key wherever it falls (whole, split in two, spread over one-byte chunks) holds the bytes until the load ends', async () => {
  const text = `head ${kHandleKey} tail`;
  const splits = [[], [3], [5 + 7], [5 + kHandleKey.length - 1], [...Array(text.length - 1).keys()].map((i) => i + 1)];
  for (const cuts of splits) {
    const run = gate();
    const parts = chunks(text, ...cuts);
    for (const part of parts) run.feed(part);
    const keyEnds = text.indexOf(kHandleKey) + kHandleKey.length;
    // Everything before the chunk that completes the key was free to go.
    const freed = parts.map((p) => p.toString('latin1')).filter((_, i) => (cuts[i] ?? text.length) < keyEnds);
    assert.deepEqual(run.delivered, freed, `cuts ${cuts.join(',')}: nothing from the key on is delivered before the load`);
    assert.equal(run.loads, 1);
    run.feed(Buffer.from('!', 'latin1'));
    await run.finish();
    assert.equal(run.delivered.join(''), `${text}!`, `cuts ${cuts.join(',')}: every byte, once, in order`);
    run.feed(Buffer.from(kHandleKey, 'latin1'));
    assert.equal(run.loads, 1, 'loaded once');
    assert.equal(run.delivered.at(-1), kHandleKey, 'after the load, bytes go straight through');
  }
});
