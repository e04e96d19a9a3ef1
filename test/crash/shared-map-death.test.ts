// A SharedMap's participants dying: a client's death changes nothing (it holds nothing at the owner); the owner's
// death is BrokerLost in every client.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BrokerLost, Process, Queue, SharedMap } from 'procsafe';
import { fixture, waitForExit } from '../helpers/index.js';

const tasks = fixture('shared-map-tasks.mjs');
type Counter = { total: number; by: Record<string, number> };

function child(t: { after: (fn: () => void) => void }, fn: string, args: unknown[]): Process {
  const p = new Process({ module: tasks, fn, args, stdout: 'ignore', stderr: 'inherit' });
  t.after(() => { p.kill('SIGKILL'); });
  return p;
}

test('compareAndSet increments from 4 processes, one SIGKILLed midway: the total is exactly every completed increment',
  { timeout: 120_000 }, async (t) => {
  const m = new SharedMap<string, Counter>();
  const n = 150;
  const survivors = [0, 1, 2].map(() => child(t, 'increment', [m, 'count', n]));
  const doomed = child(t, 'increment', [m, 'count', 1e9]);
  await Promise.all([...survivors, doomed].map((p) => p.start()));
  const doomedPid = String(doomed.pid);
  // Killed between its own increments, while the others are still at theirs.
  const deadline = Date.now() + 60_000;
  while (((await m.get('count'))?.by[doomedPid] ?? 0) < 20) assert.ok(Date.now() < deadline, 'the doomed process counts');
  doomed.kill('SIGKILL');
  assert.equal(await waitForExit(doomed.pid as number), true);
  for (const p of survivors) assert.deepEqual(await p.join({ timeoutMs: 90_000 }), { exitCode: 0, signal: null });
  const { total, by } = await m.get('count') as Counter;
  for (const p of survivors) assert.equal(by[String(p.pid)], n, `pid ${p.pid} landed all its increments`);
  const doomedCount = by[doomedPid] as number;
  assert.ok(doomedCount >= 20, `the killed process completed ${doomedCount}`);
  assert.equal(total, 3 * n + doomedCount, 'no increment lost or counted twice');
  assert.equal(Object.keys(by).length, 4);
  assert.equal(await m.compareAndSet('count', { total, by }, { total: 0, by: {} }), true, 'the map still serves');
});

test('the owner SIGKILLed: calls from a client reject BrokerLost within 1 s', { timeout: 30_000 }, async (t) => {
  const meta = new Queue<SharedMap<string, string>>();
  const owner = child(t, 'ownMap', [meta]);
  await owner.start();
  const m = await meta.get({ timeoutMs: 10_000 });
  assert.equal(await m.get('from'), 'the owner', 'the handle works from here');
  const killedAt = Date.now();
  owner.kill('SIGKILL');
  await assert.rejects(m.get('from'), BrokerLost);
  assert.ok(Date.now() - killedAt < 1000, `BrokerLost after ${Date.now() - killedAt} ms`);
  const started = Date.now();
  await assert.rejects(m.set('late', 'x'), BrokerLost);
  await assert.rejects(m.entries(), BrokerLost);
  await assert.rejects(m.compareAndSet('from', 'the owner', 'y'), BrokerLost);
  assert.ok(Date.now() - started < 1000);
});
