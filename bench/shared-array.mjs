// Two processes summing one 80 MB array of Float64 (10M elements), each its half: through a SharedArray (no copy:
// each worker maps the memory) against sending the array to each worker as a task argument (copied whole to each),
// and Python's equivalents in the same run: a multiprocessing.shared_memory.SharedMemory attached by name in two Pool
// workers (numpy views, as a Python user writes it) against the array sent to each as a Pool task argument (pickled).
// Interleaved: each round runs every contender once, the order rotating; medians of the rounds. Every round makes and
// fills a new array (untimed), so the shared rows pay for mapping the memory and faulting its pages in, every time; one
// more procsafe row sends the same, already mapped array again.
// Parameters: BENCH_SHARED_ELEMENTS (default 10000000), BENCH_SHARED_ROUNDS (default 5). Run alone:
// `npm run build && BENCH_ONLY=shared-array node bench/index.mjs`.
import { fileURLToPath, pathToFileURL } from 'node:url';
import { envInt, interleaved, loadProcsafe, log, median, pythonServer, ratio, round, withTimeout } from './lib/common.mjs';

export const title = 'SharedArray: two processes summing one 80 MB Float64 array, shared against sent';

const kTasks = new URL('./workers/shared-array-tasks.mjs', import.meta.url);
const kPython = fileURLToPath(new URL('./python/mp_shared_array_bench.py', import.meta.url));
const kGoal = { op: '>=', value: 10, goal: 'shared array: two processes summing one 80 MB SharedArray >= 10x faster than sending it to each' };

/** Values whose sum is exact in float64: i % 1024. */
function fill(array) {
  for (let i = 0; i < array.length; i++) array[i] = i % 1024;
  return array;
}

function expectedSum(n) {
  const full = Math.floor(n / 1024);
  const rest = n % 1024;
  return full * (1023 * 1024) / 2 + (rest * (rest - 1)) / 2;
}

/** ms for the two halves, each in its own worker; checks the total and that two workers answered. */
async function timeTwo(pool, fn, target, n) {
  const half = Math.floor(n / 2);
  const t0 = performance.now();
  const parts = await withTimeout(Promise.all([pool.apply(fn, [target, 0, half]), pool.apply(fn, [target, half, n])]), 120_000, fn);
  const ms = performance.now() - t0;
  const total = parts[0].sum + parts[1].sum;
  if (total !== expectedSum(n)) throw new Error(`${fn}: the halves summed to ${total}, expected ${expectedSum(n)}`);
  if (parts[0].pid === parts[1].pid) throw new Error(`${fn}: both halves ran in worker ${parts[0].pid}, not two processes`);
  return ms;
}

export async function sharedArray() {
  const n = envInt('BENCH_SHARED_ELEMENTS', 10_000_000, 1_000_000);
  const rounds = envInt('BENCH_SHARED_ROUNDS', 5, 2);
  const { Pool, SharedArray } = await loadProcsafe();
  const pool = new Pool({ module: kTasks, workers: 2 });
  const python = pythonServer(kPython, [n], 'python3 mp_shared_array_bench.py');
  try {
    await Promise.all([pool.apply('pid'), pool.apply('pid')]);
    const hello = python === null ? null : await python.ask(undefined, 60_000);
    const reused = new SharedArray(Float64Array, n);
    fill(reused.array);
    const plain = fill(new Float64Array(n));
    const jobs = [
      {
        name: 'procsafe SharedArray, a new array each round',
        run: async () => {
          const shared = new SharedArray(Float64Array, n);
          fill(shared.array);
          return timeTwo(pool, 'sumShared', shared, n);
        },
      },
      { name: 'procsafe SharedArray, the same array again (mapped already)', run: () => timeTwo(pool, 'sumShared', reused, n) },
      { name: 'procsafe, the array sent to each as an argument', run: () => timeTwo(pool, 'sumArgument', plain, n) },
    ];
    if (python !== null) {
      const ask = async (command) => {
        const answer = await python.ask(command, 120_000);
        if (answer.sum !== expectedSum(n)) throw new Error(`python ${command}: summed ${answer.sum}, expected ${expectedSum(n)}`);
        if (answer.pids !== 2) throw new Error(`python ${command}: the halves ran in ${answer.pids} worker(s)`);
        return answer.us / 1000;
      };
      jobs.push(
        { name: 'Python SharedMemory attached by name, a new one each round', run: () => ask('shared') },
        { name: 'Python, the array sent to each as a Pool argument', run: () => ask('argument') },
      );
    }
    log(`shared-array: ${n} Float64 (${Math.round((n * 8) / 1e6)} MB), a warm-up round, then ${rounds} interleaved rounds`);
    await interleaved(jobs, 1);
    const samples = await interleaved(jobs, rounds);
    const rows = [...samples].map(([name, values]) => ({
      contender: name, 'median ms': round(median(values), 1), 'min ms': round(Math.min(...values), 1),
      'max ms': round(Math.max(...values), 1), 'all ms': values.map((v) => round(v, 1)).join(', '),
    }));
    const med = (prefix) => {
      const entry = [...samples].find(([name]) => name.startsWith(prefix));
      return entry === undefined ? null : median(entry[1]);
    };
    const argument = med('procsafe, the array sent');
    const ratios = [
      ratio('procsafe: sent as an argument / SharedArray, a new array each round (how many times faster sharing is)',
        argument, med('procsafe SharedArray, a new'), kGoal),
      ratio('procsafe: sent as an argument / SharedArray, the same array again', argument, med('procsafe SharedArray, the same')),
      ratio('Python: sent as an argument / SharedMemory (the same comparison in Python)',
        med('Python, the array sent'), med('Python SharedMemory')),
      ratio('procsafe SharedArray / Python SharedMemory, a new array each round (time)', med('procsafe SharedArray, a new'),
        med('Python SharedMemory')),
    ];
    const notes = [
      `${n} Float64 elements (${Math.round((n * 8) / 1e6)} MB), values i % 1024 (an exact sum, checked); a pool of 2 worker ` +
      'processes, each summing one half in a plain loop; the clock runs from the two applies to both results (checked to come ' +
      'from two different workers).',
      `One warm-up round of every contender, then medians of ${rounds} interleaved rounds (each round runs every contender ` +
      'once, the order rotating), so a slow minute of the shared machine falls on all of them.',
      `A new array each round (made and filled untimed): each worker maps it when its handle arrives and faults its pages ` +
      `(${Math.round((n * 8) / 1e6)} MB in all) in while summing, every round. Sent as an argument: the pool copies the ` +
      `whole array to each worker (${Math.round((n * 16) / 1e6)} MB through the workers' sockets) and each decodes it.`,
      `Python${hello ? ` ${hello.python} (${hello.start_method}${hello.numpy ? ', numpy sums' : ', no numpy: a pure-Python sum'})` : ''}` +
      ': a Pool(2); shared: a new SharedMemory per round, filled untimed, its name sent to both workers, which attach, sum ' +
      'their half through a numpy view and close; argument: a numpy array sent whole to each worker with starmap (pickled).',
    ];
    if (python === null) notes.push('python3 not found: the Python rows were skipped.');
    return { title, rows, ratios, notes };
  } finally {
    await python?.stop();
    await pool.close();
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(JSON.stringify(await sharedArray(), null, 2));
}
