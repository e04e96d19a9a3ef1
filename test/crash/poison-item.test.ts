// An item that kills every reader that takes it is quarantined after
// kQuarantineAfterDeaths such deaths: its next reader's get rejects once with
// ItemQuarantined, and the items behind it are reached. Real SIGKILLs.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { JoinableQueue, Process, Queue } from 'procsafe';
import { fixture } from '../helpers/index.js';

const kPoison = '__procsafe_poison__';
/** The owner's bound (src/queue/state.ts); the test allows a few more deaths before it calls the run a failure. */
const kDeaths = 5;
const kMaxReaders = kDeaths + 3;

type Report = { pid: number; poison?: string; deliveries?: number; value?: string; id?: string; error?: Record<string, unknown> };

/** Starts readers one after another until one lives to the end (or kMaxReaders died); returns the deaths. */
async function readersUntilOneLives(
  t: { after: (fn: () => void) => void }, fn: string, q: Queue<string>, out: Queue<Report>,
): Promise<number> {
  let deaths = 0;
  for (let i = 0; i < kMaxReaders; i++) {
    const reader = new Process({ module: fixture('poison-reader.mjs'), fn, args: [q, out], stdout: 'ignore', stderr: 'inherit' });
    t.after(() => { reader.kill('SIGKILL'); });
    await reader.start();
    const { signal, exitCode } = await reader.join({ timeoutMs: 20_000 });
    if (signal === null) {
      assert.equal(exitCode, 0, 'the reader that lived read to the end');
      return deaths;
    }
    assert.equal(signal, 'SIGKILL');
    deaths++;
  }
  assert.fail(`${kMaxReaders} readers died in turn on the same item and it was never quarantined: the items behind it are never reached`);
}

async function drain(out: Queue<Report>): Promise<Report[]> {
  const reports: Report[] = [];
  while ((await out.qsize()) > 0) reports.push(await out.get({ timeoutMs: 5000 }));
  return reports;
}

test('a JoinableQueue item that kills its reader in user code is quarantined after 5 deaths; ' +
  'the next reader gets ItemQuarantined once, then the rest; join() returns', { timeout: 120_000 }, async (t) => {
  const q = new JoinableQueue<string>();
  const out = new Queue<Report>();
  await q.putMany([kPoison, 'a', 'b']);
  await q.close();
  const deaths = await readersUntilOneLives(t, 'readUntilPoison', q, out);
  assert.equal(deaths, kDeaths, 'quarantined at the 5th death, not before');
  const reports = await drain(out);
  const poison = reports.filter((r) => r.poison !== undefined);
  assert.deepEqual(poison.map((r) => r.deliveries), [1, 2, 3, 4, 5], 'the same item, delivered once to each reader that died');
  const id = poison[0]!.poison!;
  assert.ok(poison.every((r) => r.poison === id));
  const survivor = reports.filter((r) => r.poison === undefined);
  assert.equal(survivor.length, 3, JSON.stringify(survivor));
  const [first, a, b] = survivor;
  assert.equal(first!.error?.['name'], 'ItemQuarantined');
  assert.equal(first!.error?.['code'], 'EITEMQUARANTINED');
  assert.equal(first!.error?.['itemId'], id);
  assert.equal(first!.error?.['deaths'], kDeaths);
  assert.match(String(first!.error?.['message']), new RegExp(`item ${id} .*5 readers died`));
  assert.deepEqual([a!.value, b!.value], ['a', 'b'], 'then the items behind it, in order');
  await q.join({ signal: AbortSignal.timeout(5000) });
  assert.equal(await q.qsize(), 0);
  const snapshot = await q.inspect();
  assert.equal(snapshot.quarantined, 1);
  assert.equal(snapshot.unfinished, 0);
});

test('a Queue item whose reader dies before handing it out (as in decoding) is quarantined after 5 deaths; the rest are read',
  { timeout: 120_000 }, async (t) => {
  const q = new Queue<string>();
  const out = new Queue<Report>();
  await q.putMany([kPoison, 'a', 'b']);
  await q.close();
  const deaths = await readersUntilOneLives(t, 'dieReadingPoison', q, out);
  assert.equal(deaths, kDeaths);
  const reports = (await drain(out)).filter((r) => r.poison === undefined);
  assert.deepEqual(reports.map((r) => r.error?.['code'] ?? r.value), ['EITEMQUARANTINED', 'a', 'b']);
  assert.equal(await q.qsize(), 0);
  assert.equal((await q.inspect()).quarantined, 1);
});
