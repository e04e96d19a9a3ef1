/** resolveTimeout: the SPEC's one reading of timeoutMs, used by every call that waits. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveTimeout } from '../../dist/internal/timeout.js';

test('resolveTimeout reads every timeoutMs the same way', () => {
  assert.equal(resolveTimeout(undefined, 't'), undefined);
  assert.equal(resolveTimeout(Infinity, 't'), undefined);
  assert.equal(resolveTimeout(2 ** 40, 't'), undefined);
  assert.equal(resolveTimeout(0, 't'), 0);
  assert.equal(resolveTimeout(-1, 't'), 0);
  assert.equal(resolveTimeout(-Infinity, 't'), 0);
  assert.equal(resolveTimeout(1.2, 't'), 2);
  assert.equal(resolveTimeout(1000, 't'), 1000);
  assert.throws(() => resolveTimeout(NaN, 'timeoutMs'), { name: 'TypeError', message: /`timeoutMs`.*NaN/ });
  assert.throws(() => resolveTimeout('5', 'timeoutMs'), { name: 'TypeError', message: /"5" \(string\)/ });
  assert.throws(() => resolveTimeout(null, 'timeoutMs'), TypeError);
});
