/** crash-report.ts: how errors from the wire become errors here. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fromWire } from '../../dist/pool/crash-report.js';
import { RemoteError, SerializationError } from '../../dist/errors.js';

test('a remote SerializationError keeps its class, with control characters escaped like any remote text', () => {
  const error = fromWire({
    name: 'SerializationError', message: 'Cannot copy \u001b[2J\u001b]0;pwned\u0007 here\tand\nthere', stack: undefined,
    properties: { code: 'ESERIALIZE', path: 'result.\u001b[31mx' },
  });
  assert.ok(error instanceof SerializationError);
  assert.equal(error.message, 'Cannot copy \\x1b[2J\\x1b]0;pwned\\x07 here\tand\nthere');
  assert.equal(error.path, 'result.\\x1b[31mx');
});

test('any other remote error is a RemoteError, escaped the same way', () => {
  const error = fromWire({ name: 'Error', message: 'a\u001bb', stack: undefined, properties: {} });
  assert.ok(error instanceof RemoteError);
  assert.match(error.message, /a\\x1bb/);
});
