// Scenario 2: sequential round trip, one task awaited at a time, µs per task, against the floor of
// a raw socketpair echo measured in the same run. Parameters: BENCH_RT_N (default 5000), BENCH_RT_WARMUP
// (default 2000), BENCH_RT_RUNS (default 3: each pool runs N calls that many times; the best run is reported,
// which filters out other load on the machine).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { echoRoundTrip, envInt, kPools, log, pythonVersion, ratio, round, runPython, withPool, withTimeout } from './lib/common.mjs';

export const title = 'Round trip: one task at a time';

const kEchoChild = fileURLToPath(new URL('./workers/echo-socketpair.mjs', import.meta.url));
const kGoal = { op: '<=', value: 1.15, goal: 'process round trip within 15% of a raw socketpair round trip' };

async function sequential(pool, n) {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const r = await pool.run('inc', i);
    if (r !== i + 1) throw new Error(`wrong result: inc(${i}) gave ${r}`);
  }
  return ((performance.now() - t0) * 1000) / n;
}

/**
 * The floor: a node child echoes 16-byte messages from fd 3 to fd 4 (both socketpairs made by
 * child_process 'pipe'); the parent writes one and waits for all 16 bytes to come back.
 */
export async function socketpairFloor(n, warmup, runs) {
  const child = spawn(process.execPath, [kEchoChild], { stdio: ['ignore', 'inherit', 'inherit', 'pipe', 'pipe'] });
  const exited = once(child, 'exit');
  const input = child.stdio[3];
  const output = child.stdio[4];
  const roundTrip = echoRoundTrip(output, input);
  try {
    const loop = async (count) => {
      const t0 = performance.now();
      for (let i = 0; i < count; i++) await roundTrip();
      return ((performance.now() - t0) * 1000) / count;
    };
    await withTimeout(loop(warmup), 30_000, 'socketpair warm-up');
    const all = [];
    for (let r = 0; r < runs; r++) all.push(await withTimeout(loop(n), 60_000, 'socketpair round trips'));
    return all;
  } finally {
    input.end();
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  }
}

export async function roundtrip() {
  const n = envInt('BENCH_RT_N', 5_000, 500);
  const warmup = envInt('BENCH_RT_WARMUP', 2_000, 200);
  const runs = envInt('BENCH_RT_RUNS', 3, 1);
  const row = (pool, isolation, all) => ({
    pool, isolation, n, usPerTask: round(Math.min(...all), 1), allRunsUs: all.map((x) => round(x, 1)).join(', '),
  });
  const rows = [];
  const notes = [
    `${n} calls of \`inc\`, each awaited before the next; 2 workers; ${warmup} warm-up calls first; ` +
    `${runs} runs of ${n} per pool, \`usPerTask\` is the best run (all runs listed).`,
    'Floor: a raw socketpair round trip (16 bytes) between this process and a node child that echoes fd 3 to fd 4, measured in the same run.',
  ];

  try {
    const all = await socketpairFloor(n, warmup, runs);
    rows.push(row('floor: raw socketpair echo', 'process', all));
    log(`roundtrip floor: ${all.map((x) => x.toFixed(1)).join(', ')} µs`);
  } catch (error) {
    rows.push({ pool: 'floor: raw socketpair echo', isolation: 'process', n, usPerTask: null, error: error.message });
  }

  for (const kind of kPools) {
    try {
      await withPool(kind, async (pool) => {
        await withTimeout(sequential(pool, warmup), 60_000, `${kind.name} warm-up`);
        const all = [];
        for (let r = 0; r < runs; r++) all.push(await withTimeout(sequential(pool, n), 120_000, `${kind.name} round trips`));
        rows.push(row(kind.name, kind.isolation, all));
        log(`roundtrip ${kind.name}: ${all.map((x) => x.toFixed(1)).join(', ')} µs`);
      });
    } catch (error) {
      log(`roundtrip ${kind.name} failed: ${error.message}`);
      rows.push({ pool: kind.name, isolation: kind.isolation, n, usPerTask: null, error: error.message });
    }
  }

  if (pythonVersion() === null) {
    notes.push('python3 not found: the Python row was skipped.');
  } else {
    try {
      const all = [];
      let method = '';
      for (let i = 0; i < runs; i++) {
        const r = await runPython('roundtrip', n, warmup, 120_000);
        all.push((r.seconds * 1e6) / n);
        method = r.start_method;
      }
      rows.push(row(`python multiprocessing (${method})`, 'process', all));
      notes.push('Python: `pool.apply(inc, (i,))` in a loop, timed inside Python (one fresh Pool per run).');
    } catch (error) {
      rows.push({ pool: 'python multiprocessing', isolation: 'process', n, usPerTask: null, error: error.message });
    }
  }

  const us = (name) => rows.find((r) => r.pool === name || r.pool.startsWith(`${name} (`))?.usPerTask ?? 0;
  const bestPeer = (isolation) => rows
    .filter((r) => r.isolation === isolation && !r.pool.startsWith('procsafe') && !r.pool.startsWith('floor') && r.usPerTask > 0)
    .sort((a, b) => a.usPerTask - b.usPerTask)[0];
  const floor = us('floor: raw socketpair echo');
  const ratios = [
    ratio('procsafe process / raw socketpair (time, lower is better)', us('procsafe process'), floor, kGoal),
    ratio('procsafe thread / raw socketpair (time)', us('procsafe thread'), floor),
  ];
  for (const isolation of ['process', 'thread']) {
    const peer = bestPeer(isolation);
    if (peer) ratios.push(ratio(`procsafe ${isolation} / best ${isolation} peer, ${peer.pool} (time)`, us(`procsafe ${isolation}`), peer.usPerTask));
  }
  return { title, rows, ratios, notes };
}

export default roundtrip;

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(JSON.stringify(await roundtrip(), null, 2));
}
