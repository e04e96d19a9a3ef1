/**
 * Strings that are not well-formed UTF-16 (a lone surrogate) cross the wire intact
 * on every path: the fast encodings of arguments and results must not turn them
 * into U+FFFD, as a UTF-8 round trip would.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Pool, Queue } from 'procsafe';
import { tasks } from '../helpers/index.js';

const kOdd = ['\uD800', 'a\uDC00b', '\uDBFF\uDBFF', 'ok \uD83D\uDE00 then \uDE00'];
const kLong = 'x'.repeat(2000);

/** The code units, so a failure shows what arrived instead of two unprintable strings. */
function units(text: unknown): string {
  return typeof text === 'string' ? [...text].map((c) => c.charCodeAt(0).toString(16)).join(' ') : String(text);
}

for (const isolation of ['process', 'thread'] as const) {
  describe(`lone surrogates (${isolation})`, () => {
    test('task arguments and results keep them', { timeout: 20_000 }, async (t) => {
      const pool = new Pool({ module: tasks, workers: 1, isolation });
      t.after(() => pool.terminate());
      for (const text of kOdd) {
        // Both fast paths: primitive arguments, short string result.
        assert.equal(units(await pool.apply('echo', [text])), units(text), 'argument and result');
        // Arguments alone: a result over 1024 units goes by v8.
        assert.equal(units(await pool.apply('echo', [text + kLong])), units(text + kLong), 'argument');
        // Result alone: an object among the arguments sends them by v8.
        assert.equal(units(await pool.apply('echo', [text, {}])), units(text), 'result');
        assert.equal(units(await pool.apply('add', [text, text])), units(text + text), 'computed result');
      }
      assert.deepEqual((await pool.map('echo', kOdd)).map(units), kOdd.map(units), 'map');
    });
  });
}

test('a queue item keeps them', { timeout: 10_000 }, async (t) => {
  const q = new Queue<string>();
  t.after(() => q.close());
  for (const text of kOdd) {
    await q.put(text);
    assert.equal(units(await q.get()), units(text));
  }
});
