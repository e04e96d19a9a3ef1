// Scenario 6: cold costs, what a short script pays. Interleaved, each contender once per round
// (the order rotating), medians of the rounds:
//  (a) a procsafe `Process` start() + join() of a trivial function, against Python's
//      multiprocessing.get_context('spawn').Process(target=f).start(); join();
//  (b) a new pool's first result: construct, one apply, close; procsafe (process and thread),
//      Python's spawn-context Pool(1).apply(f) (then close and join), piscina, tinypool and
//      workerpool, every pool with one worker;
//  (c) the sequential round trip of a fresh pool after a warm-up: BENCH_COLD_WARMUP tasks, then
//      BENCH_COLD_CALLS timed one-at-a-time applies; procsafe process and thread pools against
//      workerpool (process) and piscina and tinypool (threads).
// Python runs as one long-lived bench/python/mp_cold_bench.py that times one command per request,
// so its rounds interleave with ours and its interpreter start-up is not counted.
// Parameters: BENCH_COLD_ROUNDS (default 10), BENCH_COLD_WARMUP (default 500), BENCH_COLD_CALLS
// (default 2000). Run alone: `npm run build && BENCH_ONLY=cold node bench/index.mjs`.
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  envInt, interleaved, kTasks, kWorkerpoolTasks, loadProcsafe, log, median, pythonServer, ratio, round, withTimeout,
} from './lib/common.mjs';

const kPythonScript = fileURLToPath(new URL('./python/mp_cold_bench.py', import.meta.url));

const kGoalProcess = { op: '<=', value: 1, goal: "cold: a Process start() + join() no slower than Python's spawn Process" };
const kGoalPool = { op: '<=', value: 1, goal: "cold: a new process Pool's first result (with close) no slower than Python's spawn Pool(1)" };
const kGoalSeqProcess = { op: '<=', value: 1, goal: 'cold: warm sequential round trip (process) no slower than the best process peer' };
const kGoalSeqThread = { op: '<=', value: 1, goal: 'cold: warm sequential round trip (thread) no slower than the best thread peer' };

/** A pool of one worker behind the same three calls, for every library. */
const kPools = [
  { name: 'procsafe process', lib: 'procsafe', isolation: 'process', create: () => procsafePool('process') },
  { name: 'procsafe thread', lib: 'procsafe', isolation: 'thread', create: () => procsafePool('thread') },
  { name: 'workerpool process', lib: 'workerpool', isolation: 'process', create: () => workerpool('process') },
  { name: 'workerpool thread', lib: 'workerpool', isolation: 'thread', create: () => workerpool('thread') },
  { name: 'tinypool child_process', lib: 'tinypool', isolation: 'process', create: () => tinypool('child_process') },
  { name: 'tinypool threads', lib: 'tinypool', isolation: 'thread', create: () => tinypool('worker_threads') },
  { name: 'piscina', lib: 'piscina', isolation: 'thread', create: () => piscina() },
];
/** The contenders of (c): procsafe's two pools and the peers the round-trip comparison names. */
const kSequential = [
  'procsafe process', 'procsafe thread', 'workerpool process', 'tinypool child_process', 'workerpool thread', 'piscina', 'tinypool threads',
];

async function procsafePool(isolation) {
  const { Pool } = await loadProcsafe();
  const pool = new Pool({ module: kTasks, workers: 1, isolation, stdout: 'inherit', stderr: 'inherit' });
  return { run: (x) => pool.apply('inc', [x]), close: () => pool.close() };
}

async function workerpool(workerType) {
  const { default: wp } = await import('workerpool');
  const pool = wp.pool(kWorkerpoolTasks, { minWorkers: 1, maxWorkers: 1, workerType });
  return { run: (x) => pool.exec('inc', [x]), close: () => pool.terminate() };
}

async function tinypool(runtime) {
  const { default: Tinypool } = await import('tinypool');
  const pool = new Tinypool({ filename: kTasks.href, runtime, minThreads: 1, maxThreads: 1 });
  return { run: (x) => pool.run(x, { name: 'inc' }), close: () => pool.destroy() };
}

async function piscina() {
  const { Piscina } = await import('piscina');
  const pool = new Piscina({ filename: kTasks.href, minThreads: 1, maxThreads: 1 });
  return { run: (x) => pool.run(x, { name: 'inc' }), close: () => pool.destroy() };
}

/** Python's side: one process answering `process` / `pool` with the µs it took, one request at a time. */
function startPython() {
  const server = pythonServer(kPythonScript, [], 'python3 mp_cold_bench.py');
  if (server === null) return null;
  return { time: async (command) => (await server.ask(command)).us / 1000, stop: () => server.stop() };
}

async function timeProcess() {
  const { Process } = await loadProcsafe();
  const t0 = performance.now();
  const p = new Process({ module: kTasks, fn: 'inc', args: [1], stdout: 'inherit', stderr: 'inherit' });
  await p.start();
  const result = await p.join();
  if (result.exitCode !== 0) throw new Error(`the Process exited with ${result.exitCode ?? result.signal}`);
  return performance.now() - t0;
}

/** Construct, first result, close: ms to the result and ms to the end of close. */
async function timeFirstResult(kind) {
  const t0 = performance.now();
  const pool = await kind.create();
  if ((await pool.run(1)) !== 2) throw new Error(`${kind.name}: wrong answer`);
  const first = performance.now() - t0;
  await withTimeout(pool.close(), 15_000, `${kind.name} close`);
  return { first, total: performance.now() - t0 };
}

/** µs per one-at-a-time call of a fresh pool, after `warmup` calls. */
async function timeSequential(kind, warmup, calls) {
  const pool = await kind.create();
  try {
    for (let i = 0; i < warmup; i++) await pool.run(i);
    const t0 = performance.now();
    for (let i = 0; i < calls; i++) await pool.run(i);
    return ((performance.now() - t0) * 1000) / calls;
  } finally {
    await withTimeout(pool.close(), 15_000, `${kind.name} close`);
  }
}

const ms = (values) => round(median(values), 1);

export async function cold() {
  const rounds = envInt('BENCH_COLD_ROUNDS', 10, 2);
  const warmup = envInt('BENCH_COLD_WARMUP', 500, 20);
  const calls = envInt('BENCH_COLD_CALLS', 2000, 50);
  const python = startPython();
  try {
    log(`cold: Process start + join, ${rounds} rounds`);
    const processes = await interleaved([
      { name: 'procsafe Process', run: timeProcess },
      ...(python ? [{ name: 'Python spawn Process', run: () => python.time('process') }] : []),
    ], rounds);
    const processRows = [...processes].map(([name, values]) => ({
      contender: name, 'median ms': ms(values), 'min ms': round(Math.min(...values), 1), 'max ms': round(Math.max(...values), 1),
    }));

    log(`cold: a new pool's first result, ${rounds} rounds`);
    const firstJobs = kPools.map((kind) => ({ name: kind.name, run: () => timeFirstResult(kind) }));
    if (python) firstJobs.push({ name: 'Python spawn Pool(1)', run: async () => ({ first: null, total: await python.time('pool') }) });
    const firsts = await interleaved(firstJobs, rounds);
    const isolationOf = (name) => kPools.find((p) => p.name === name)?.isolation ?? 'process';
    const firstRows = [...firsts].map(([name, values]) => ({
      pool: name, isolation: isolationOf(name),
      'first result, median ms': values[0].first === null ? null : ms(values.map((v) => v.first)),
      'with close, median ms': ms(values.map((v) => v.total)),
    }));

    log(`cold: sequential round trip after ${warmup} warm-up tasks, ${calls} calls, ${rounds} rounds`);
    const seqKinds = kPools.filter((p) => kSequential.includes(p.name));
    const seq = await interleaved(seqKinds.map((kind) => ({ name: kind.name, run: () => timeSequential(kind, warmup, calls) })), rounds);
    const seqRows = [...seq].map(([name, values]) => ({ pool: name, isolation: isolationOf(name), 'µs per call, median': ms(values) }));

    const med = (map, name, pick = (v) => v) => (map.has(name) ? median(map.get(name).map(pick)) : null);
    const first = (name) => med(firsts, name, (v) => v.first);
    const total = (name) => med(firsts, name, (v) => v.total);
    const bestPeer = (isolation, measure) => Math.min(...kPools.filter((p) => p.lib !== 'procsafe' && p.isolation === isolation).map((p) => measure(p.name)));
    const bestSeq = (isolation) => Math.min(...kSequential.filter((n) => !n.startsWith('procsafe') && isolationOf(n) === isolation)
      .map((n) => med(seq, n)).filter((v) => v !== null));
    const ratios = [
      ratio('procsafe Process / Python spawn Process, start + join (time)', med(processes, 'procsafe Process'),
        med(processes, 'Python spawn Process'), kGoalProcess),
      ratio('procsafe process Pool / Python spawn Pool(1), construct + apply + close (time)', total('procsafe process'),
        total('Python spawn Pool(1)'), kGoalPool),
      ratio('procsafe process Pool / fastest process peer, first result (time)', first('procsafe process'), bestPeer('process', first)),
      ratio('procsafe thread Pool / fastest thread peer, first result (time)', first('procsafe thread'), bestPeer('thread', first)),
      ratio('procsafe process / fastest process peer (workerpool, tinypool child_process), warm sequential round trip (time)',
        med(seq, 'procsafe process'), bestSeq('process'), kGoalSeqProcess),
      ratio('procsafe thread / fastest thread peer (piscina, tinypool, workerpool), warm sequential round trip (time)',
        med(seq, 'procsafe thread'), bestSeq('thread'), kGoalSeqThread),
    ];
    const notes = [
      `Medians of ${rounds} interleaved rounds: each round runs every contender once, the order rotating from round to round, ` +
      'so a slow minute of the shared machine falls on all of them. A ratio below 1 means procsafe took less time.',
      'Every pool has one worker and runs `inc(1)` (bench/workers/tasks.mjs; workerpool: its CJS twin). Isolation: procsafe ' +
      '`process` and workerpool `process` and tinypool `child_process` start Node child processes; procsafe `thread`, ' +
      'workerpool `thread`, tinypool `threads` and piscina start worker threads in this process, which costs no new Node ' +
      'and shares its loaded modules. Python\'s Process and Pool use the spawn context: a fresh interpreter, as procsafe\'s children.',
      '"first result" is from the constructor to the first answer; "with close" adds the graceful shutdown (procsafe ' +
      '`close()`, workerpool `terminate()`, piscina and tinypool `destroy()`; Python `close(); join()`). Python\'s server ' +
      'times construct + apply + close + join as one span, so it has only the second column.',
      `Sequential: a fresh pool per round, ${warmup} untimed tasks, then ${calls} calls one at a time, each awaited before the next.`,
    ];
    if (!python) notes.push('python3 not found: the Python rows were skipped.');
    return {
      title: 'Cold costs: a Process, a pool\'s first result, a warm-up',
      rows: firstRows,
      tables: [
        { caption: 'A Process: start() + join() of a trivial function', rows: processRows },
        { caption: 'A new pool (one worker): construct, first result, close', rows: firstRows },
        { caption: `Sequential round trip of a fresh pool after ${warmup} warm-up tasks (${calls} calls)`, rows: seqRows },
      ],
      ratios,
      notes,
    };
  } finally {
    await python?.stop();
  }
}

export default cold;

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(JSON.stringify(await cold(), null, 2));
}
