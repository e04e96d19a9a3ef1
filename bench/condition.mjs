// Condition: notify() in one process to the waiter awake in another, against Python's multiprocessing.Condition. Two
// child processes hand a turn back and forth through one Condition made by this process (its owner) and one shared
// Int32 (a SharedArray); each hop is a notify answered by the other process waking in wait(), re-taking the lock and
// seeing its turn (bench/workers/condition-tasks.mjs). Python's side does the same with mp.Condition and a RawValue
// (bench/python/mp_condition_bench.py, a long-lived server so the runs interleave). Time per hop, medians of the rounds.
// Parameters: BENCH_COND_HOPS (round trips timed, default 2000), BENCH_COND_WARMUP (default 300), BENCH_COND_ROUNDS
// (default 3). Run alone: `npm run build && BENCH_ONLY=condition node bench/index.mjs`.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { envInt, interleaved, loadProcsafe, log, median, pythonServer, ratio, round, withTimeout } from './lib/common.mjs';

export const title = 'Condition: notify in one process, the waiter awake in another';

const kTasks = new URL('./workers/condition-tasks.mjs', import.meta.url);
const kPython = fileURLToPath(new URL('./python/mp_condition_bench.py', import.meta.url));
const kGoal = { op: '<=', value: 1, goal: "condition: notify -> waiter awake in another process <= Python's time" };

/** µs per hop of one procsafe run: two fresh Processes, a fresh Condition and turn. */
async function procsafeRun(dir, n, warmup, run) {
  const { Condition, Process, SharedArray } = await loadProcsafe();
  const cond = new Condition();
  const turn = new SharedArray(Int32Array, 1);
  const out = join(dir, `condition-${run}.json`);
  const total = warmup + n;
  const players = [1, 0].map((me) => new Process({ module: kTasks, fn: 'player', args: [cond, turn, { me, total, warmup, out }] }));
  try {
    for (const p of players) await p.start();
    for (const p of players) {
      const { exitCode } = await withTimeout(p.join(), 120_000, 'procsafe condition ping-pong');
      if (exitCode !== 0) throw new Error(`a player exited with code ${exitCode}`);
    }
  } finally {
    for (const p of players) p.kill('SIGKILL');
  }
  const { t0, t1 } = JSON.parse(readFileSync(out, 'utf8'));
  return Number(BigInt(t1) - BigInt(t0)) / 1e3 / (2 * n);
}

export async function condition() {
  const n = envInt('BENCH_COND_HOPS', 2_000, 200);
  const warmup = envInt('BENCH_COND_WARMUP', 300, 50);
  const rounds = envInt('BENCH_COND_ROUNDS', 3, 2);
  const dir = mkdtempSync(join(tmpdir(), 'procsafe-bench-condition-'));
  const python = pythonServer(kPython, [], 'python3 mp_condition_bench.py');
  try {
    const hello = python === null ? null : await python.ask(undefined, 60_000);
    let run = 0;
    const jobs = [{ name: 'procsafe Condition', run: () => procsafeRun(dir, n, warmup, run++) }];
    if (python !== null) {
      jobs.push({
        name: `Python mp.Condition (${hello.python}, ${hello.start_method})`,
        run: async () => (await python.ask(`pingpong ${warmup + n} ${warmup}`, 120_000)).us_per_hop,
      });
    }
    log(`condition: ${warmup} warm-up and ${n} timed round trips (2 hops each) per run, ${rounds} interleaved rounds`);
    const samples = await interleaved(jobs, rounds);
    const rows = [...samples].map(([name, values]) => ({
      impl: name, hops: 2 * n, 'µs per hop, median': round(median(values), 1), 'all runs µs': values.map((v) => round(v, 1)).join(', '),
    }));
    const med = (prefix) => {
      const entry = [...samples].find(([name]) => name.startsWith(prefix));
      return entry === undefined ? null : median(entry[1]);
    };
    const ratios = [ratio('condition notify -> awake: procsafe / Python (time per hop, lower is better)', med('procsafe'), med('Python'), kGoal)];
    const notes = [
      'Two child processes take turns: each holds the lock, waits until the shared turn is its own, hands it over and ' +
      `notifies, then waits again (which lets go of the lock). ${warmup} warm-up round trips, then ${n} timed (${2 * n} hops), ` +
      'timed in the first player; µs per hop = the time over 2 x round trips. A hop is a notify, the other process woken ' +
      'and holding the lock again, its check of the turn.',
      'procsafe: the Condition and its Lock are owned by the bench\'s process (a broker thread answers, over shared-memory ' +
      'lanes where the addon loads, else Unix sockets); a hop costs the notify, the wake, the notifier\'s wait parking and ' +
      'releasing the lock, and the waiter re-acquiring it, each a message to the owner unless the lock word is free. Python: the lock and the condition\'s counters are POSIX semaphores in shared memory ' +
      '(futexes, no owner to ask, and no recovery of a holder or waiter that dies).',
      `Medians of ${rounds} interleaved rounds (procsafe and Python alternating, the order rotating), fresh processes each run.`,
    ];
    if (python === null) notes.push('python3 not found: the Python rows were skipped.');
    return { title, rows, ratios, notes };
  } finally {
    await python?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(JSON.stringify(await condition(), null, 2));
}
