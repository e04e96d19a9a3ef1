/** The error classes: stable codes and names, and an `instanceof` that tells siblings apart and survives two copies. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as procsafe from 'procsafe';
import {
  AbortError, BarrierBroken, BrokerLost, LockTimeout, PoolClosed, ProcsafeError, QueueClosed, QueueEmpty, QueueFull,
  RemoteError, SerializationError, TaskTimeout, WorkerCrashed, type CrashInfo, type RemoteErrorInfo,
} from 'procsafe';

type ErrorsModule = typeof import('../../dist/errors.js');
type AnyErrorClass = typeof ProcsafeError;

const crashInfo: CrashInfo = {
  workerId: 3, pid: 4127, exitCode: null, signal: 'SIGKILL', taskId: 17, fn: 'square', attempts: 1, retries: 0,
};
const remoteInfo: RemoteErrorInfo = { name: 'RangeError', message: 'bad', stack: undefined, properties: {} };

/** Each SPEC class, its code, and how to make one (three classes take more than a message). */
const kClasses: ReadonlyArray<{ readonly name: string; readonly code: string; readonly make: (m: ErrorsModule) => Error }> = [
  { name: 'QueueFull', code: 'EQUEUEFULL', make: (m) => new m.QueueFull('full') },
  { name: 'QueueEmpty', code: 'EQUEUEEMPTY', make: (m) => new m.QueueEmpty('empty') },
  { name: 'QueueClosed', code: 'EQUEUECLOSED', make: (m) => new m.QueueClosed('closed') },
  { name: 'BrokerLost', code: 'EBROKERLOST', make: (m) => new m.BrokerLost('lost') },
  { name: 'WorkerCrashed', code: 'EWORKERCRASHED', make: (m) => new m.WorkerCrashed('crashed', crashInfo) },
  { name: 'TaskTimeout', code: 'ETASKTIMEOUT', make: (m) => new m.TaskTimeout('timeout') },
  { name: 'PoolClosed', code: 'EPOOLCLOSED', make: (m) => new m.PoolClosed('closed') },
  { name: 'RemoteError', code: 'EREMOTE', make: (m) => new m.RemoteError(remoteInfo) },
  { name: 'SerializationError', code: 'ESERIALIZE', make: (m) => new m.SerializationError('no', 'args[0]') },
  { name: 'LockTimeout', code: 'ELOCKTIMEOUT', make: (m) => new m.LockTimeout('timeout') },
  { name: 'BarrierBroken', code: 'EBARRIERBROKEN', make: (m) => new m.BarrierBroken('broken') },
  { name: 'AbortError', code: 'ABORT_ERR', make: (m) => new m.AbortError('aborted') },
];

function classOf(m: ErrorsModule, name: string): AnyErrorClass {
  const value: unknown = (m as unknown as Record<string, unknown>)[name];
  assert.equal(typeof value, 'function', `${name} is exported`);
  return value as AnyErrorClass;
}

async function loadCopy(): Promise<ErrorsModule> {
  // A query string makes the loader treat the same file as a second, distinct module instance.
  const url = new URL('../../dist/errors.js?copy=2', import.meta.url).href;
  return (await import(url)) as ErrorsModule;
}

describe('error classes', () => {
  const own = procsafe as unknown as ErrorsModule;

  test('all 13 classes are exported from procsafe', { timeout: 5_000 }, () => {
    const names = ['ProcsafeError', ...kClasses.map((c) => c.name)];
    assert.equal(names.length, 13);
    for (const name of names) assert.equal(typeof (procsafe as unknown as Record<string, unknown>)[name], 'function', name);
  });

  test('the base class has name ProcsafeError and is an Error', { timeout: 5_000 }, () => {
    const error = new ProcsafeError('base');
    assert.equal(error.name, 'ProcsafeError');
    assert.equal(typeof error.code, 'string');
    assert.equal(error.message, 'base');
    assert.ok(error instanceof ProcsafeError);
    assert.ok(error instanceof Error);
    for (const { name } of kClasses) assert.ok(!(error instanceof classOf(own, name)), `a ProcsafeError is not a ${name}`);
  });

  for (const { name, code, make } of kClasses) {
    test(`${name}: code ${code}, name, and instanceof`, { timeout: 5_000 }, () => {
      const Class = classOf(own, name);
      const error = make(own);
      assert.equal((error as ProcsafeError).code, code);
      assert.equal(Class.code, code, 'the code is also a static property');
      assert.equal(error.name, name);
      assert.ok(error instanceof Class);
      assert.ok(error instanceof ProcsafeError);
      assert.ok(error instanceof Error);
      assert.equal(error.constructor, Class);
      assert.match(String(error.stack), new RegExp(`^${name}`), 'the stack starts with the class name');
      assert.ok(Object.keys(error).includes('code'), 'code is enumerable, so it shows in logs and JSON');
      for (const sibling of kClasses) {
        if (sibling.name === name) continue;
        assert.ok(!(error instanceof classOf(own, sibling.name)), `a ${name} is not instanceof ${sibling.name}`);
      }
    });
  }

  test('a QueueFull is not an AbortError (subclasses do not inherit a loose hasInstance)', { timeout: 5_000 }, () => {
    assert.ok(!(new QueueFull('x') instanceof AbortError));
    assert.ok(!(new AbortError('x') instanceof QueueFull));
    assert.ok(!(new WorkerCrashed('x', crashInfo) instanceof TaskTimeout));
  });

  test('look-alikes without the brand are not procsafe errors', { timeout: 5_000 }, () => {
    const nodeAbort = Object.assign(new Error('The operation was aborted'), { name: 'AbortError', code: 'ABORT_ERR' });
    assert.ok(!(nodeAbort instanceof AbortError));
    assert.ok(!(nodeAbort instanceof ProcsafeError));
    assert.ok(!({ code: 'EQUEUEFULL', name: 'QueueFull' } instanceof QueueFull));
    assert.ok(!(new DOMException('aborted', 'AbortError') instanceof AbortError));
    const primitives: unknown[] = [null, undefined, 0, 'EQUEUEFULL', Symbol.for('procsafe.error')];
    for (const value of primitives) {
      assert.ok(!(value instanceof ProcsafeError));
      assert.ok(!(value instanceof QueueFull));
    }
  });

  test('instanceof works across two copies of the module, both ways', { timeout: 5_000 }, async () => {
    const copy = await loadCopy();
    assert.notEqual(copy.ProcsafeError, ProcsafeError, 'the copy is a distinct module instance');
    for (const { name, make } of kClasses) {
      const fromCopy = make(copy);
      const fromOwn = make(own);
      assert.ok(fromCopy instanceof classOf(own, name), `copy ${name} instanceof own ${name}`);
      assert.ok(fromCopy instanceof ProcsafeError, `copy ${name} instanceof own ProcsafeError`);
      assert.ok(fromOwn instanceof classOf(copy, name), `own ${name} instanceof copy ${name}`);
      assert.ok(fromOwn instanceof copy.ProcsafeError, `own ${name} instanceof copy ProcsafeError`);
      for (const sibling of kClasses) {
        if (sibling.name === name) continue;
        assert.ok(!(fromCopy instanceof classOf(own, sibling.name)), `copy ${name} is not own ${sibling.name}`);
        assert.ok(!(fromOwn instanceof classOf(copy, sibling.name)), `own ${name} is not copy ${sibling.name}`);
      }
    }
    assert.ok(new copy.ProcsafeError('x') instanceof ProcsafeError);
    assert.ok(!(new copy.ProcsafeError('x') instanceof QueueFull));
  });
});

describe('error details', () => {
  test('WorkerCrashed carries the crash info', { timeout: 5_000 }, () => {
    const error = new WorkerCrashed('worker 3 (pid 4127) was killed by SIGKILL', crashInfo);
    assert.equal(error.workerId, 3);
    assert.equal(error.pid, 4127);
    assert.equal(error.exitCode, null);
    assert.equal(error.signal, 'SIGKILL');
    assert.equal(error.taskId, 17);
    assert.equal(error.fn, 'square');
    assert.equal(error.attempts, 1);
  });

  test('SerializationError carries the path', { timeout: 5_000 }, () => {
    const cause = new Error('v8 said no');
    const error = new SerializationError('Cannot copy', 'args[0].conn', { cause });
    assert.equal(error.path, 'args[0].conn');
    assert.equal(error.cause, cause);
  });

  test('AbortError keeps the reason as cause', { timeout: 5_000 }, () => {
    const reason = new Error('user gave up');
    const error = new AbortError('aborted', { cause: reason });
    assert.equal(error.cause, reason);
  });

  test('RemoteError copies remote properties and keeps the remote code as remoteCode', { timeout: 5_000 }, () => {
    const info: RemoteErrorInfo = {
      name: 'RangeError',
      message: 'bad thing',
      stack: 'RangeError: bad thing\n    at fail (file:///tasks.mjs:1:1)',
      properties: { code: 'E_BAD_THING', details: { retry: false, n: 3 }, errno: -2, name: 'ignored', message: 'ignored' },
    };
    const error = new RemoteError(info);
    const props = error as unknown as Record<string, unknown>;
    assert.equal(error.code, 'EREMOTE', 'its own code stays stable');
    assert.equal(error.remoteCode, 'E_BAD_THING');
    assert.equal(error.name, 'RemoteError');
    assert.equal(error.remoteName, 'RangeError');
    assert.equal(error.message, 'bad thing');
    assert.equal(error.remoteStack, info.stack);
    assert.match(String(error.stack), /at fail \(file:\/\/\/tasks\.mjs:1:1\)/, 'the stack shows where it was thrown');
    assert.deepEqual(props['details'], { retry: false, n: 3 });
    assert.equal(props['errno'], -2);
    assert.deepEqual(error.properties, info.properties);
    assert.ok(error instanceof RemoteError);
    assert.ok(error instanceof ProcsafeError);
  });

  test('RemoteError builds a cause chain of RemoteErrors', { timeout: 5_000 }, () => {
    const error = new RemoteError({
      name: 'Error', message: 'outer', stack: undefined, properties: {},
      cause: {
        name: 'TypeError', message: 'middle', stack: undefined, properties: { code: 'E_MID' },
        cause: { name: 'SyntaxError', message: 'inner', stack: undefined, properties: {} },
      },
    }, 'task 1 ("f"): ');
    assert.equal(error.message, 'task 1 ("f"): outer');
    const middle = error.cause;
    assert.ok(middle instanceof RemoteError);
    assert.equal(middle.message, 'middle');
    assert.equal(middle.remoteName, 'TypeError');
    assert.equal(middle.remoteCode, 'E_MID');
    const inner = middle.cause;
    assert.ok(inner instanceof RemoteError);
    assert.equal(inner.message, 'inner');
    assert.equal(inner.remoteName, 'SyntaxError');
    assert.equal(inner.cause, undefined);
  });

  test('RemoteError without remote code has remoteCode undefined', { timeout: 5_000 }, () => {
    const error = new RemoteError(remoteInfo);
    assert.equal(error.remoteCode, undefined);
    assert.equal(error.cause, undefined);
  });

  test('the remaining classes accept ErrorOptions.cause', { timeout: 5_000 }, () => {
    const cause = new Error('root');
    for (const Class of [QueueFull, QueueEmpty, QueueClosed, BrokerLost, TaskTimeout, PoolClosed, LockTimeout, BarrierBroken]) {
      assert.equal(new Class('x', { cause }).cause, cause, Class.name);
    }
  });
});

describe('one code convention', () => {
  // SPEC fixes these two; every other code is E + the class name in capitals, less a trailing "Error".
  const kFixed: Readonly<Record<string, string>> = { SerializationError: 'ESERIALIZE', AbortError: 'ABORT_ERR' };
  const expected = (name: string): string => kFixed[name] ?? `E${name.replace(/Error$/, '').toUpperCase()}`;

  async function internalClasses(): Promise<Record<string, AnyErrorClass>> {
    const frame = await import('../../dist/transport/frame.js');
    const sync = await import('../../dist/sync/state.js');
    const queue = await import('../../dist/queue/state.js');
    const owner = await import('../../dist/internal/owner-state.js');
    return {
      ProtocolViolation: frame.ProtocolViolation, InvalidRelease: sync.InvalidRelease,
      InvalidQueueRequest: queue.InvalidQueueRequest, InvalidRequest: owner.InvalidRequest,
    } as unknown as Record<string, AnyErrorClass>;
  }

  test('every exported error class and every internal one follows it, and extends ProcsafeError', { timeout: 5_000 }, async () => {
    const exported = Object.entries(procsafe as unknown as Record<string, unknown>)
      .filter(([, value]) => typeof value === 'function' &&
        Object.prototype.isPrototypeOf.call(Error.prototype, (value as { prototype: object }).prototype));
    const all: [string, unknown][] = [...exported, ...Object.entries(await internalClasses())];
    const seen = new Set<string>();
    for (const [name, Class] of all) {
      if (name === 'ProcsafeError') continue;
      assert.ok(Object.prototype.isPrototypeOf.call(ProcsafeError.prototype, (Class as AnyErrorClass).prototype),
        `${name} extends ProcsafeError`);
      const code = (Class as AnyErrorClass).code;
      assert.equal(code, expected(name), `${name}.code`);
      assert.ok(!seen.has(code), `${code} is used once`);
      seen.add(code);
    }
    for (const name of ['ReleasedError', 'BoundedError', 'TaskDoneError']) assert.ok(all.some(([n]) => n === name), `${name} is exported`);
  });

  test('the misuse classes and the internal ones are procsafe errors with their code on the instance', { timeout: 5_000 }, async () => {
    const internal = await internalClasses();
    const made: Error[] = [
      new procsafe.ReleasedError('x'), new procsafe.BoundedError('x'), new procsafe.TaskDoneError('x'),
      new (internal['ProtocolViolation'] as AnyErrorClass)('x'),
    ];
    for (const error of made) {
      assert.ok(error instanceof ProcsafeError);
      assert.equal(error.code, expected(error.name));
    }
    const { InvalidRelease } = await import('../../dist/sync/state.js');
    const { InvalidRequest } = await import('../../dist/internal/owner-state.js');
    const refused = new InvalidRelease('no', 'released');
    assert.ok(refused instanceof ProcsafeError);
    assert.ok(refused instanceof InvalidRequest, 'the broker tells every refusal by its base class');
    assert.equal(refused.code, 'EINVALIDRELEASE');
  });
});
