// Pipe's promises when a process dies, with real processes killed by SIGKILL: a receiver killed inside recv loses
// nothing, the last holder of an end dying ends the other end's reads once drained, and the owner dying is BrokerLost.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BrokerLost, Pipe, PipeClosed, Process, Queue } from 'procsafe';
import type { PipeEnd } from 'procsafe';
import { fixture } from '../helpers/index.js';

const pipeTasks = fixture('pipe-tasks.mjs');

async function start(t: { after: (fn: () => void) => void }, module: URL, fn: string, args: unknown[]): Promise<Process> {
  const p = new Process({ module, fn, args, stdout: 'ignore', stderr: 'inherit' });
  t.after(() => { p.kill('SIGKILL'); });
  await p.start();
  return p;
}

/** Waits until the owner shows a recv parked on `end` (the reader is really blocked inside recv). */
async function parkedRecv(end: PipeEnd<unknown>): Promise<void> {
  const gets = async (): Promise<number> => ((await inspectEnd(end))['in'] as { gets: unknown[] }).gets.length;
  while (await gets() === 0) await new Promise((resolve) => setTimeout(resolve, 2));
}

async function inspectEnd(end: PipeEnd<unknown>): Promise<Record<string, unknown>> {
  const { linkFor } = await import('../../dist/broker/link.js');
  const { kHandleKey } = await import('../../dist/codec/handles.js');
  const handle = (end as unknown as Record<string, import('../../dist/codec/handles.js').Handle>)[kHandleKey] as
    import('../../dist/codec/handles.js').Handle;
  return linkFor(handle).askValue(handle, (await import('../../dist/broker/protocol.js')).kRequest.Inspect);
}

test('a receiver SIGKILLed inside recv leaves the message for the next recv on that end', { timeout: 30_000 }, async (t) => {
  const [a, b] = Pipe<unknown>();
  const [readyIn, readyOut] = Pipe<number>({ duplex: false });
  const reader = await start(t, pipeTasks, 'recvAndHang', [b, readyOut]);
  assert.equal(await readyIn.recv({ timeoutMs: 10_000 }), reader.pid);
  await parkedRecv(b);
  // The message reaches the child's lease; the child is killed before or right after its recv resolves, never having acked.
  reader.kill('SIGKILL');
  assert.deepEqual(await reader.join(), { exitCode: null, signal: 'SIGKILL' });
  await a.send('for the next reader');
  assert.equal(await b.recv({ timeoutMs: 5000 }), 'for the next reader');
  a.close();
  b.close();
});

test('a message leased to a receiver that is then SIGKILLed comes back to the next recv on that end', { timeout: 30_000 }, async (t) => {
  const [a, b] = Pipe<unknown>();
  const [readyIn, readyOut] = Pipe<number>({ duplex: false });
  // Stopped, the child holds its socket open but can never ack: the owner delivers the item to its parked recv.
  const reader = await start(t, pipeTasks, 'recvAndHang', [b, readyOut]);
  assert.equal(await readyIn.recv({ timeoutMs: 10_000 }), reader.pid);
  await parkedRecv(b);
  reader.kill('SIGSTOP');
  await a.send('leased then orphaned');
  const snapshot = await inspectEnd(b);
  assert.equal((snapshot['in'] as { leased: number }).leased, 1, 'the message is leased to the stopped reader');
  reader.kill('SIGKILL');
  await reader.join();
  assert.equal(await b.recv({ timeoutMs: 5000 }), 'leased then orphaned');
  a.close();
  b.close();
});

test('the last holder of an end dying: the other end reads what it sent, then recv rejects PipeClosed', { timeout: 30_000 }, async (t) => {
  const [here, there] = Pipe<number>();
  const writer = await start(t, pipeTasks, 'sendAndHang', [there, 3]);
  // This process lets go of its copy, so the child is the end's last holder.
  assert.equal(await here.recv({ timeoutMs: 10_000 }), 0);
  there.close();
  // Both later messages are at the owner (their sends resolved) before the writer dies.
  while (((await inspectEnd(here))['in'] as { qsize: number }).qsize < 2) await new Promise((resolve) => setTimeout(resolve, 2));
  writer.kill('SIGKILL');
  await writer.join();
  assert.equal(await here.recv({ timeoutMs: 10_000 }), 1);
  assert.equal(await here.recv({ timeoutMs: 10_000 }), 2);
  await assert.rejects(here.recv({ timeoutMs: 10_000 }), PipeClosed);
  await assert.rejects(here.send(9), PipeClosed);
  here.close();
});

test('an end still held by another process keeps the pipe open when one holder dies', { timeout: 30_000 }, async (t) => {
  const [here, there] = Pipe<number>();
  const first = await start(t, pipeTasks, 'sendAndHang', [there, 1]);
  const second = await start(t, pipeTasks, 'sendAndHang', [there, 1]);
  there.close();
  assert.equal(await here.recv({ timeoutMs: 10_000 }), 0);
  assert.equal(await here.recv({ timeoutMs: 10_000 }), 0);
  first.kill('SIGKILL');
  await first.join();
  await here.send(5);
  assert.equal(await here.poll({ timeoutMs: 100 }), false, 'no PipeClosed: the second child still holds the end');
  second.kill('SIGKILL');
  await second.join();
  await assert.rejects(here.recv({ timeoutMs: 10_000 }), PipeClosed);
  here.close();
});

test("the pipe's owner SIGKILLed: pending and new calls reject BrokerLost within 1 s", { timeout: 30_000 }, async (t) => {
  const meta = new Queue<PipeEnd<string>>();
  const ready = new Queue<number>();
  const out = new Queue<{ pendingEnd: string; later: string; at: number }>();
  const owner = await start(t, pipeTasks, 'ownPipe', [meta]);
  const end = await meta.get({ timeoutMs: 10_000 });
  await start(t, pipeTasks, 'clientOfDoomed', [end, ready, out]);
  await ready.get({ timeoutMs: 10_000 });
  const pendingHere = end.recv().then(() => 'resolved', (error: Error) => error);
  while (((await inspectEnd(end))['in'] as { gets: unknown[] }).gets.length < 2) await new Promise((resolve) => setTimeout(resolve, 2));
  const killedAt = Date.now();
  owner.kill('SIGKILL');
  const error = await pendingHere;
  assert.ok(error instanceof BrokerLost, String(error));
  assert.ok(Date.now() - killedAt < 1000, `BrokerLost after ${Date.now() - killedAt} ms`);
  await assert.rejects(end.send('late'), BrokerLost);
  const remote = await out.get({ timeoutMs: 5000 });
  assert.deepEqual([remote.pendingEnd, remote.later], ['BrokerLost', 'BrokerLost']);
  assert.ok(remote.at - killedAt < 1000, `the other client saw it after ${remote.at - killedAt} ms`);
});
