// Scenario 3: a worker is SIGKILLed mid-task. How long until that task rejects, and how long until
// a replacement worker serves a task? Parameters: BENCH_KILLS (default 200; procsafe),
// BENCH_PEER_KILLS (default 30; the process-based peers).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  envInt, log, median, percentile, poolNamed, pollFor, ratio, round, sleep, withPool, withTimeout,
} from './lib/common.mjs';

export const title = 'Crash latency: SIGKILL of a busy worker';

const kGoal = { op: '<=', value: 50, goal: 'crash detection p99 < 50 ms (SIGKILL to WorkerCrashed rejection)' };

/** Both workers' pids: pairs of concurrent `pid` tasks land on both workers of a 2-worker pool. */
async function workerPids(pool) {
  const seen = new Set();
  for (let i = 0; i < 200 && seen.size < 2; i++) {
    for (const pid of await Promise.all([pool.run('pid'), pool.run('pid'), pool.run('pid'), pool.run('pid')])) seen.add(pid);
  }
  return seen;
}

/**
 * One kill: start `pidThenHang`, learn the worker's pid from its file, SIGKILL it (t0), and time
 * the task's rejection and the first task answered by a pid never seen before (the replacement).
 */
async function killOnce(pool, dir, i, seen) {
  const file = join(dir, `pid-${i}`);
  let rejectedAt;
  const task = pool.run('pidThenHang', file);
  const settled = task.then(
    (value) => { throw new Error(`pidThenHang resolved with ${value}; expected a rejection`); },
    (error) => { rejectedAt = performance.now(); return error; });
  const pid = await pollFor(() => {
    try {
      const text = readFileSync(file, 'utf8');
      return text === '' ? undefined : Number(text);
    } catch {
      return undefined;
    }
  }, 10_000, `the pid file of kill ${i}`);
  seen.add(pid);
  const t0 = performance.now();
  process.kill(pid, 'SIGKILL');
  const error = await withTimeout(settled, 5_000, `the rejection of the task whose worker (pid ${pid}) was SIGKILLed`);
  const rejectMs = rejectedAt - t0;
  // The replacement: two concurrent tasks put one on each worker once both are ready.
  let replaceMs = null;
  await withTimeout((async () => {
    for (;;) {
      const pids = await Promise.all([pool.run('pid'), pool.run('pid')]);
      const fresh = pids.find((p) => !seen.has(p));
      if (fresh !== undefined) {
        replaceMs = performance.now() - t0;
        for (const p of pids) seen.add(p);
        return;
      }
      await sleep(1);
    }
  })(), 10_000, `a task served by the replacement of pid ${pid}`);
  return { rejectMs, replaceMs, error };
}

async function measure(kind, kills) {
  const dir = mkdtempSync(join(tmpdir(), 'procsafe-bench-'));
  const rejectMs = [];
  const replaceMs = [];
  let firstError;
  let failure;
  try {
    await withPool(kind, async (pool) => {
      try {
        const seen = await withTimeout(workerPids(pool), 30_000, `${kind.name}: the pids of both workers`);
        for (let i = 0; i < kills; i++) {
          const r = await killOnce(pool, dir, i, seen);
          rejectMs.push(r.rejectMs);
          replaceMs.push(r.replaceMs);
          firstError ??= r.error;
        }
      } catch (error) {
        pool.hung = true;
        throw error;
      }
    });
  } catch (error) {
    failure = error.message;
    log(`crash ${kind.name} failed after ${rejectMs.length} kills: ${failure}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const errorText = firstError ? `${firstError.name}${firstError.code ? ` (${firstError.code})` : ''}: ${firstError.message}` : '';
  return {
    pool: kind.name,
    kills: rejectMs.length,
    rejectMedianMs: round(median(rejectMs), 2),
    rejectP99Ms: round(percentile(rejectMs, 99), 2),
    rejectMaxMs: round(Math.max(...rejectMs), 2),
    replaceMedianMs: round(median(replaceMs), 1),
    replaceP99Ms: round(percentile(replaceMs, 99), 1),
    rejectedWith: errorText.length > 160 ? `${errorText.slice(0, 157)}...` : errorText,
    ...(failure ? { error: failure } : {}),
  };
}

export async function crashLatency() {
  const kills = envInt('BENCH_KILLS', 200, 20);
  const peerKills = envInt('BENCH_PEER_KILLS', 30, 5);
  const rows = [];
  const notes = [
    `Each kill: a task writes its worker's pid to a file and hangs; the bench reads the pid, records t0, sends SIGKILL, ` +
    'and times (a) the task\'s rejection and (b) the first task answered by the new worker (pairs of concurrent `pid()` tasks, ' +
    `polled every ~1 ms). procsafe: ${kills} kills; process-based peers: ${peerKills} kills each. 2 workers; the other worker stays idle.`,
    'Thread pools (procsafe thread, piscina, tinypool threads, workerpool threads) are not measured: a thread cannot be SIGKILLed alone.',
    'Python multiprocessing is not run: after a worker is SIGKILLed, `Pool.map`/`apply` wait forever for the lost task ' +
    '(the pool replaces the process but never fails the task), so there is no latency to measure.',
  ];
  const procsafe = await measure(poolNamed('procsafe process'), kills);
  rows.push(procsafe);
  for (const name of ['tinypool child_process', 'workerpool process']) rows.push(await measure(poolNamed(name), peerKills));
  const ratios = [
    { name: 'procsafe process: SIGKILL to rejection, p99 (ms)', value: procsafe.rejectP99Ms, target: '< 50', met: procsafe.kills === kills && procsafe.rejectP99Ms < kGoal.value, goal: kGoal.goal },
  ];
  for (const peer of rows.slice(1)) {
    if (peer.kills > 0) ratios.push(ratio(`procsafe / ${peer.pool}: median time to rejection`, procsafe.rejectMedianMs, peer.rejectMedianMs));
    if (peer.kills > 0) ratios.push(ratio(`procsafe / ${peer.pool}: median time to replacement serving`, procsafe.replaceMedianMs, peer.replaceMedianMs));
  }
  return { title, rows, ratios, notes };
}

export default crashLatency;

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(JSON.stringify(await crashLatency(), null, 2));
}
