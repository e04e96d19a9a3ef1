// Pipe ping-pong against Python's multiprocessing.Pipe: two child Processes hold the two ends of a pipe made by
// this process (its owner); A sends a number, B sends it back, A times N round trips after a warm-up. Python's
// side does the same with mp.Pipe() (bench/python/mp_pipe_bench.py). Run alone: `node bench/pipe.mjs` after
// `npm run build`. Parameters: BENCH_PIPE_N (default 3000), BENCH_PIPE_WARMUP (default 300), BENCH_PIPE_RUNS
// (default 3; the best run is reported). BENCH_QUICK=1 makes a smoke run.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { envInt, loadProcsafe, log, pythonVersion, ratio, round, runPythonScript, withTimeout } from './lib/common.mjs';

export const title = 'Pipe ping-pong: one message at a time, there and back';

const kTasks = new URL('./workers/pipe-tasks.mjs', import.meta.url);
const kPython = fileURLToPath(new URL('./python/mp_pipe_bench.py', import.meta.url));
const kGoal = { op: '<=', value: 1, goal: 'pipe: ping-pong round trip no slower than Python' };

async function procsafeRun(dir, n, warmup, run) {
  const { Pipe, Process } = await loadProcsafe();
  const [a, b] = Pipe();
  const out = join(dir, `ping-${run}.json`);
  const children = [
    new Process({ module: kTasks, fn: 'pingB', args: [b, { total: warmup + n }] }),
    new Process({ module: kTasks, fn: 'pingA', args: [a, { n, warmup, out }] }),
  ];
  try {
    for (const child of children) await child.start();
    for (const child of children) {
      const { exitCode } = await withTimeout(child.join(), 120_000, 'procsafe pipe ping-pong');
      if (exitCode !== 0) throw new Error(`a ping-pong child exited with code ${exitCode}`);
    }
  } finally {
    for (const child of children) child.kill('SIGKILL');
    a.close();
    b.close();
  }
  const { t0, t1 } = JSON.parse(readFileSync(out, 'utf8'));
  return Number(BigInt(t1) - BigInt(t0)) / 1e3 / n;
}

export async function pipe() {
  const n = envInt('BENCH_PIPE_N', 3_000, 200);
  const warmup = envInt('BENCH_PIPE_WARMUP', 300, 50);
  const runs = envInt('BENCH_PIPE_RUNS', 3, 2);
  const rows = [];
  const row = (impl, all) => ({ impl, roundTrips: n, warmup, usPerRoundTrip: round(Math.min(...all), 1), allRunsUs: all.map((x) => round(x, 1)).join(', ') });
  const dir = mkdtempSync(join(tmpdir(), 'procsafe-bench-pipe-'));
  try {
    const all = [];
    for (let r = 0; r < runs; r++) all.push(await procsafeRun(dir, n, warmup, r));
    rows.push(row('procsafe Pipe', all));
    log(`pipe ping-pong procsafe: ${all.map((x) => x.toFixed(1)).join(', ')} µs`);
    if (pythonVersion() !== null) {
      const py = [];
      for (let r = 0; r < runs; r++) {
        const { seconds } = await runPythonScript(kPython, ['pingpong', n, warmup], 120_000, 'python3 pipe ping-pong');
        py.push((1e6 * seconds) / n);
      }
      rows.push(row(`python mp.Pipe (${pythonVersion()})`, py));
      log(`pipe ping-pong python: ${py.map((x) => x.toFixed(1)).join(', ')} µs`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const pick = (prefix) => rows.find((r) => r.impl.startsWith(prefix))?.usPerRoundTrip ?? null;
  const ratios = [ratio('pipe ping-pong: procsafe / Python (time per round trip, lower is better)', pick('procsafe'), pick('python'), kGoal)];
  return {
    title, rows, ratios,
    notes: [`Two child Processes hold the ends of one Pipe made by the bench's process; ${warmup} warm-up round trips, then ${n} timed; best of ${runs} runs.`],
  };
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const result = await pipe();
  console.log(JSON.stringify(result, null, 2));
}
