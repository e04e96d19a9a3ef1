/**
 * The JoinableQueue chaos run: 4 writer and 4 reader processes share a
 * JoinableQueue (maxsize 64) while one of them is SIGKILLed every 20 to 100 ms
 * and replaced. Writers take item numbers from an assignment queue and finish
 * an assignment only after its put resolved; readers record every item they
 * process before `taskDone`. When it settles, every item was processed at
 * least once, every duplicate is explained by a death, and the queue is empty,
 * not full and joined. Used by test/crash/queue-chaos.test.ts and `npm run soak`.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { JoinableQueue, Process, Queue } from 'procsafe';
import { sharedDirFor } from '../../dist/transport/shared-dir.js';
import { fixture, waitUntil } from './index.js';
import { prng } from './prng.js';

const queueTasks = fixture('queue-tasks.mjs');

interface Record {
  readonly id: string;
  readonly n: number;
  readonly writer: number;
  readonly reader: number;
  /** Large items only: whether every byte arrived as written, and how many there were. */
  readonly intact: boolean;
  readonly bytes: number;
}

export interface ChaosStats {
  readonly items: number;
  readonly kills: number;
  readonly processed: number;
  readonly duplicates: number;
  readonly ms: number;
}

/**
 * `itemBytes` > 0: every item carries that many bytes (from 32 KiB they travel as
 * files in the owner's /dev/shm directory), each checked by its reader, and once
 * every child is dead no file of theirs may be left there.
 */
export async function queueChaos(items: number, seed = 7, itemBytes = 0): Promise<ChaosStats> {
  const started = Date.now();
  const random = prng(seed);
  const q = new JoinableQueue<{ n: number; writer: number }>({ maxsize: 64 });
  const assign = new JoinableQueue<number>();
  const done = new Queue<Record>();
  await assign.putMany(Array.from({ length: items }, (_, i) => i));
  const killed = new Set<number>();
  const live = new Map<number, { role: 'writer' | 'reader'; process: Process }>();
  const all: Process[] = [];

  const spawn = async (role: 'writer' | 'reader'): Promise<void> => {
    const p = new Process({
      module: queueTasks, fn: role === 'writer' ? 'chaosWriter' : 'chaosReader',
      args: role === 'writer' ? [q, assign, itemBytes] : [q, done], stdout: 'ignore', stderr: 'ignore', daemon: true,
    });
    all.push(p);
    await p.start();
    live.set(p.pid as number, { role, process: p });
  };

  const records: Record[] = [];
  const replacements: Promise<void>[] = [];
  let starting = 0;
  let stop = false;
  try {
    await Promise.all(Array.from({ length: 8 }, (_, i) => spawn(i % 2 === 0 ? 'writer' : 'reader')));
    const collector = (async () => {
      while (!stop || (await done.qsize()) > 0) {
        try {
          records.push(await done.get({ timeoutMs: 200 }));
        } catch {
          // nothing this moment
        }
      }
    })();
    const killer = (async () => {
      while (!stop) {
        await new Promise((resolve) => setTimeout(resolve, 20 + random() * 80));
        if (stop) break;
        // At most two replacements starting at once: on 2 cores, spawning faster than
        // that leaves no CPU for the work, and the run would only ever be starting processes.
        if (starting >= 2) continue;
        const pids = [...live.keys()];
        if (pids.length === 0) continue;
        const pid = pids[Math.floor(random() * pids.length)] as number;
        const victim = live.get(pid);
        if (victim === undefined) continue;
        live.delete(pid);
        killed.add(pid);
        victim.process.kill('SIGKILL');
        // Replaced in the background: the next kill does not wait for a spawn.
        starting++;
        replacements.push(spawn(victim.role).finally(() => { starting--; }));
      }
    })();
    // Settled: every assignment was put and every put item was finished.
    await assign.join();
    await q.join();
    stop = true;
    await killer;
    await Promise.all(replacements);
    await collector;

    // Every item processed at least once.
    const seen = new Set(records.map((r) => r.n));
    assert.equal(seen.size, items, `${items - seen.size} items were never processed`);
    // Every duplicate explained by a death.
    let duplicates = 0;
    const byItem = new Map<number, Record[]>();
    for (const record of records) byItem.set(record.n, [...(byItem.get(record.n) ?? []), record]);
    for (const [n, list] of byItem) {
      if (list.length === 1) continue;
      duplicates += list.length - 1;
      const ids = new Map<string, Record[]>();
      for (const record of list) ids.set(record.id, [...(ids.get(record.id) ?? []), record]);
      // Put twice: all but one of the writers died before finishing the assignment.
      const writersKilled = [...ids.values()].filter((rs) => killed.has((rs[0] as Record).writer)).length;
      assert.ok(writersKilled >= ids.size - 1, `item ${n} was put ${ids.size} times but only ${writersKilled} of its writers died`);
      // Delivered twice: every reader but the last died before taskDone.
      for (const [id, rs] of ids) {
        for (const record of rs.slice(0, -1)) {
          assert.ok(killed.has(record.reader), `entry ${id} (item ${n}) was processed again although reader ${record.reader} did not die`);
        }
      }
    }
    assert.equal(await q.qsize(), 0);
    assert.equal(await q.full(), false);
    await q.join();
    const damaged = records.filter((r) => !r.intact || r.bytes !== itemBytes);
    assert.deepEqual(damaged, [], 'every item arrived whole');
    if (itemBytes > 0) await noFilesLeft(q, all);
    return { items, kills: killed.size, processed: records.length, duplicates, ms: Date.now() - started };
  } finally {
    stop = true;
    for (const p of all) p.kill('SIGKILL');
    await Promise.all(all.map((p) => p.join({ timeoutMs: 5000 }).catch(() => undefined)));
  }
}

/**
 * Kills every child and waits until the owner (this process) has deleted every
 * file they left: consumed items' files given back to them, and any they wrote
 * and died before putting. This process wrote none of its own.
 */
async function noFilesLeft(q: object, all: readonly Process[]): Promise<void> {
  const dir = sharedDirFor((q as unknown as { __procsafe_handle__: { path: string } }).__procsafe_handle__.path);
  if (!existsSync(dir)) return;
  for (const p of all) p.kill('SIGKILL');
  await Promise.all(all.map((p) => p.join({ timeoutMs: 5000 }).catch(() => undefined)));
  await waitUntil(() => readdirSync(dir).length === 0, `the dead children's files in ${dir} to be deleted`);
}
