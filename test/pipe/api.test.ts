// Pipe as SPEC names it: both directions, order, poll, recv's timeout and signal, close, and ends that travel.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AbortError, Pipe, PipeClosed, PipeDirectionError, Pool, Process, QueueEmpty } from 'procsafe';
import { fixture } from '../helpers/index.js';

const pipeTasks = fixture('pipe-tasks.mjs');

test('a duplex pipe carries messages both ways, each direction in order', { timeout: 10_000 }, async () => {
  const [a, b] = Pipe<unknown>();
  for (let i = 0; i < 50; i++) await a.send({ i });
  await b.send('back');
  for (let i = 0; i < 50; i++) assert.deepEqual(await b.recv(), { i });
  assert.equal(await a.recv(), 'back');
  a.close();
  b.close();
});

test('a one-way pipe: the first end only receives, the second only sends; the other calls are misuse', { timeout: 10_000 }, async () => {
  const [reader, writer] = Pipe<number>({ duplex: false });
  await writer.send(1);
  assert.equal(await reader.recv(), 1);
  assert.throws(() => reader.send(2), (error: Error) => error instanceof PipeDirectionError && /receive-only end/.test(error.message));
  await assert.rejects(writer.recv(), PipeDirectionError);
  await assert.rejects(writer.poll(), PipeDirectionError);
  assert.equal(new PipeDirectionError('x').code, 'EPIPEDIRECTION');
  reader.close();
  writer.close();
});

test('poll answers at once without timeoutMs, waits with it, and leaves the message for recv', { timeout: 10_000 }, async () => {
  const [a, b] = Pipe<string>();
  assert.equal(await b.poll(), false);
  const started = Date.now();
  assert.equal(await b.poll({ timeoutMs: 50 }), false);
  assert.ok(Date.now() - started >= 45, 'poll({ timeoutMs }) waited');
  const waiting = b.poll({ timeoutMs: 5000 });
  await a.send('first');
  await a.send('second');
  assert.equal(await waiting, true);
  assert.equal(await b.poll(), true);
  assert.equal(await b.recv(), 'first', 'the message poll waited for is still the first');
  assert.equal(await b.recv(), 'second');
  assert.equal(await b.poll({ timeoutMs: 0 }), false);
  a.close();
  b.close();
});

test('recv rejects QueueEmpty on timeout and AbortError on abort, and a later message is not lost', { timeout: 10_000 }, async () => {
  const [a, b] = Pipe<string>();
  await assert.rejects(b.recv({ timeoutMs: 30 }), (error: Error) => error instanceof QueueEmpty && /within 30 ms/.test(error.message));
  const controller = new AbortController();
  const aborted = b.recv({ signal: controller.signal });
  controller.abort();
  await assert.rejects(aborted, AbortError);
  await a.send('after');
  assert.equal(await b.recv({ timeoutMs: 5000 }), 'after');
  a.close();
  b.close();
});

test('closing an end: the other end drains what was sent, then recv and send reject PipeClosed', { timeout: 10_000 }, async () => {
  const [a, b] = Pipe<number>();
  // A recv of a's own, waiting when a is closed, ends too.
  const parked = assert.rejects(a.recv(), PipeClosed);
  await a.send(1);
  await a.send(2);
  a.close();
  assert.equal(await b.recv(), 1);
  assert.equal(await b.recv(), 2);
  await assert.rejects(b.recv(), (error: Error) => error instanceof PipeClosed && error.code === 'EPIPECLOSED');
  await assert.rejects(b.send(3), PipeClosed);
  assert.equal(await b.poll(), false);
  assert.throws(() => a.send(4), PipeClosed, 'a closed end cannot be used');
  await parked;
  b.close();
});

test('a parked recv wakes with PipeClosed when the other end is closed', { timeout: 10_000 }, async () => {
  const [a, b] = Pipe<number>();
  const waiting = b.recv();
  a.close();
  await assert.rejects(waiting, PipeClosed);
  b.close();
});

test('an end travels to a Process: it echoes until this side closes, then its own recv sees PipeClosed', { timeout: 30_000 }, async (t) => {
  const [here, there] = Pipe<unknown>();
  const child = new Process({ module: pipeTasks, fn: 'echo', args: [there], stdout: 'ignore' });
  t.after(() => { child.kill('SIGKILL'); });
  await child.start();
  for (let i = 0; i < 5; i++) {
    await here.send(i);
    assert.deepEqual(await here.recv({ timeoutMs: 10_000 }), [i, child.pid]);
  }
  there.close();
  here.close();
  assert.deepEqual(await child.join({ timeoutMs: 10_000 }), { exitCode: 0, signal: null });
});

for (const isolation of ['process', 'thread'] as const) {
  test(`an end travels to a ${isolation} pool task`, { timeout: 30_000 }, async () => {
    await using pool = new Pool({ module: pipeTasks, workers: 1, isolation });
    const [here, there] = Pipe<number>();
    const task = pool.apply('doubleOnce', [there]);
    await here.send(21);
    assert.equal(await here.recv({ timeoutMs: 10_000 }), 42);
    assert.equal(await task, 21);
    // The worker closed its copy, and this process closes its own: nobody holds that end any more.
    there.close();
    await assert.rejects(here.recv({ timeoutMs: 10_000 }), PipeClosed);
    here.close();
  });
}

test('Pipe options are checked', () => {
  assert.throws(() => Pipe({ duplex: 1 as unknown as boolean }), TypeError);
  assert.throws(() => Pipe({ bogus: true } as never), TypeError);
});

test('large messages (1 MiB, 10 MiB) cross a pipe whole, both ways and through a Process', { timeout: 30_000 }, async (t) => {
  const [a, b] = Pipe<unknown>();
  for (const bytes of [1024 * 1024, 10 * 1024 * 1024]) {
    await a.send(Buffer.alloc(bytes, 7));
    const got = await b.recv() as Buffer;
    assert.equal(got.length, bytes);
    assert.equal(got[bytes - 1], 7);
  }
  const child = new Process({ module: pipeTasks, fn: 'echo', args: [b], stdout: 'ignore' });
  t.after(() => { child.kill('SIGKILL'); });
  await child.start();
  await a.send(Buffer.alloc(3 * 1024 * 1024, 9));
  const [echoed, pid] = await a.recv({ timeoutMs: 10_000 }) as [Buffer, number];
  assert.equal(pid, child.pid);
  assert.equal(echoed.length, 3 * 1024 * 1024);
  assert.equal(echoed[echoed.length - 1], 9);
  a.close();
  b.close();
  assert.deepEqual(await child.join({ timeoutMs: 10_000 }), { exitCode: 0, signal: null });
});

test("Python's pattern: the creator closes the child's end right after start(); the child's copy keeps it open until it exits",
  { timeout: 30_000 }, async (t) => {
  for (let round = 0; round < 5; round++) {
    const [here, there] = Pipe<number>();
    const child = new Process({ module: pipeTasks, fn: 'sendAndExit', args: [there, 3], stdout: 'ignore' });
    t.after(() => { child.kill('SIGKILL'); });
    await child.start();
    there.close();
    const got = [await here.recv({ timeoutMs: 10_000 }), await here.recv({ timeoutMs: 10_000 }), await here.recv({ timeoutMs: 10_000 })];
    assert.deepEqual(got, [0, 1, 2]);
    await assert.rejects(here.recv({ timeoutMs: 10_000 }), PipeClosed, 'the child exited: nobody holds that end');
    assert.deepEqual(await child.join({ timeoutMs: 10_000 }), { exitCode: 0, signal: null });
    here.close();
  }
});
