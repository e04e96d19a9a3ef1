// Shared by the scenarios: parameters from the environment, the pools under test behind one
// small adapter, Python and child helpers, and statistics. Every adapter owns its cleanup.
import { spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

export const kTasks = new URL('../workers/tasks.mjs', import.meta.url);
export const kWorkerpoolTasks = fileURLToPath(new URL('../workers/workerpool-tasks.cjs', import.meta.url));
export const kPythonScript = fileURLToPath(new URL('../python/mp_bench.py', import.meta.url));
export const kWorkers = 2;

export const quick = process.env.BENCH_QUICK === '1';

/** An integer parameter from the environment, with separate defaults for full and BENCH_QUICK=1 runs. */
export function envInt(name, full, fast) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return quick ? fast : full;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`Expected ${name} to be an integer >= 1, got ${JSON.stringify(raw)}`);
  return n;
}

/** A comma-separated list of integers from the environment. */
export function envInts(name, full, fast) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return quick ? fast : full;
  const list = raw.split(',').map((s) => Number(s.trim()));
  if (!list.every((n) => Number.isInteger(n) && n >= 1)) throw new RangeError(`Expected ${name} to be integers >= 1 separated by commas, got ${JSON.stringify(raw)}`);
  return list;
}

export function log(...args) {
  if (process.env.BENCH_SILENT !== '1') console.error('[bench]', ...args);
}

/** Rejects if `promise` has not settled within `ms`; the timer never outlives the race. */
export async function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

// ---- pools under test -------------------------------------------------------

/**
 * Every pool, as { name, lib, isolation, create(opts) }. create() resolves with
 * { run(fn, arg), destroy() }: `run` submits one task with one argument; `destroy`
 * stops the pool now and is safe to call twice.
 */
export const kPools = [
  { name: 'procsafe process', lib: 'procsafe', isolation: 'process', create: () => procsafe('process') },
  { name: 'procsafe thread', lib: 'procsafe', isolation: 'thread', create: () => procsafe('thread') },
  { name: 'tinypool child_process', lib: 'tinypool', isolation: 'process', create: (o) => tinypool('child_process', o) },
  { name: 'tinypool threads', lib: 'tinypool', isolation: 'thread', create: (o) => tinypool('worker_threads', o) },
  { name: 'workerpool process', lib: 'workerpool', isolation: 'process', create: () => workerpool('process') },
  { name: 'workerpool threads', lib: 'workerpool', isolation: 'thread', create: () => workerpool('thread') },
  { name: 'piscina', lib: 'piscina', isolation: 'thread', create: () => piscina() },
];

export function poolNamed(name) {
  const kind = kPools.find((p) => p.name === name);
  if (kind === undefined) throw new Error(`no pool named ${name}`);
  return kind;
}

let procsafeModule;
/** procsafe from the build, so `npm run bench` measures what `npm run build` just produced. */
export async function loadProcsafe() {
  procsafeModule ??= await import(new URL('../../dist/index.js', import.meta.url).href);
  return procsafeModule;
}

async function procsafe(isolation) {
  const { Pool } = await loadProcsafe();
  const pool = new Pool({ module: kTasks, workers: kWorkers, isolation, stdout: 'inherit', stderr: 'inherit' });
  let closing;
  let terminating;
  return {
    pool,
    run: (fn, arg) => pool.apply(fn, arg === undefined ? [] : [arg]),
    destroy: () => (terminating ??= withTimeout(pool.terminate(), 15_000, `procsafe ${isolation} terminate()`)),
    /** The graceful path, for a pool with no hanging task: close() must finish by itself. */
    close: () => (closing ??= withTimeout(pool.close(), 15_000, `procsafe ${isolation} close()`)),
  };
}

async function tinypool(runtime, options = {}) {
  const { default: Tinypool } = await import('tinypool');
  const pool = new Tinypool({
    filename: kTasks.href, runtime, minThreads: kWorkers, maxThreads: kWorkers,
    ...(options.serialization ? { serialization: options.serialization } : {}),
  });
  let stopping;
  return {
    pool,
    run: (fn, arg) => pool.run(arg, { name: fn }),
    destroy: () => (stopping ??= withTimeout(pool.destroy(), 15_000, `tinypool ${runtime} destroy()`)),
  };
}

async function workerpool(workerType) {
  const { default: wp } = await import('workerpool');
  const pool = wp.pool(kWorkerpoolTasks, { minWorkers: kWorkers, maxWorkers: kWorkers, workerType });
  let stopping;
  return {
    pool,
    run: (fn, arg) => pool.exec(fn, arg === undefined ? [] : [arg]),
    destroy: () => (stopping ??= withTimeout(pool.terminate(true), 15_000, `workerpool ${workerType} terminate()`)),
  };
}

async function piscina() {
  const { Piscina } = await import('piscina');
  const pool = new Piscina({ filename: kTasks.href, minThreads: kWorkers, maxThreads: kWorkers });
  let stopping;
  return {
    pool,
    run: (fn, arg) => pool.run(arg, { name: fn }),
    destroy: () => (stopping ??= withTimeout(pool.destroy(), 15_000, 'piscina destroy()')),
  };
}

/** Creates a pool, hands it to `body`, and always destroys it, even when `body` throws. */
export async function withPool(kind, body, options) {
  const adapter = await kind.create(options);
  try {
    return await body(adapter);
  } finally {
    try {
      await (adapter.close && !adapter.hung ? adapter.close() : adapter.destroy());
    } catch (error) {
      log(`${kind.name}: cleanup failed: ${error.message}; destroying`);
      try { await adapter.destroy(); } catch (again) { log(`${kind.name}: destroy failed too: ${again.message}`); }
      throw new Error(`${kind.name}: cleanup failed: ${error.message}`);
    }
  }
}

/** Runs `n` trivial tasks with all of them in flight at once; returns seconds. */
export async function burst(adapter, n) {
  const promises = new Array(n);
  const t0 = performance.now();
  for (let i = 0; i < n; i++) promises[i] = adapter.run('inc', i);
  const out = await Promise.all(promises);
  const seconds = (performance.now() - t0) / 1000;
  if (out[n - 1] !== n) throw new Error(`wrong result: inc(${n - 1}) gave ${out[n - 1]}`);
  return seconds;
}

// ---- Python ----------------------------------------------------------------

export function pythonVersion() {
  const r = spawnSync('python3', ['--version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return null;
  return (r.stdout || r.stderr).trim().replace(/^Python\s+/, '');
}

/** Runs bench/python/mp_bench.py and parses its JSON line; the child is killed on timeout. */
export function runPython(mode, n, warmup, timeoutMs) {
  return runPythonScript(kPythonScript, [mode, n, warmup], timeoutMs, `python3 ${mode} ${n}`);
}

/** Runs `python3 script ...args` and parses the last line it prints as JSON; the child is killed on timeout. */
export async function runPythonScript(script, args, timeoutMs, what = `python3 ${args.join(' ')}`) {
  const child = spawn('python3', [script, ...args.map(String)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (s) => { out += s; });
  const exited = new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve({ code, signal }));
  });
  try {
    const { code, signal } = await withTimeout(exited, timeoutMs, what);
    if (code !== 0) throw new Error(`${what} exited with code ${code} signal ${signal}`);
    return JSON.parse(out.trim().split('\n').pop());
  } finally {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited.catch(() => {});
    }
  }
}

/**
 * A long-lived `python3 script ...args` that answers one JSON line per command line, so that its measurements
 * interleave with ours and its interpreter start-up is not counted. null when python3 is missing.
 * `ask(command)` resolves with the parsed answer; `stop()` ends it (`quit`, then the end of its stdin).
 */
export function pythonServer(script, args = [], what = `python3 ${script}`) {
  if (pythonVersion() === null) return null;
  const child = spawn('python3', [script, ...args.map(String)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  return {
    async ask(command, timeoutMs = 60_000) {
      if (command !== undefined) child.stdin.write(`${command}\n`);
      const { value, done } = await withTimeout(lines.next(), timeoutMs, `${what}: ${command ?? 'start'}`);
      if (done) throw new Error(`${what} ended before answering ${command ?? 'its start'}`);
      return JSON.parse(value);
    },
    stop() {
      child.stdin.end('quit\n');
      return new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', resolve)));
    },
  };
}

/**
 * Each of `jobs` ({ name, run }) once per round, the order rotating every round, so a slow minute of a shared machine
 * falls on every contender; resolves with every job's samples, by name.
 */
export async function interleaved(jobs, rounds) {
  const samples = new Map(jobs.map((job) => [job.name, []]));
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < jobs.length; k++) {
      const job = jobs[(k + r) % jobs.length];
      samples.get(job.name).push(await job.run());
    }
  }
  return samples;
}

// ---- statistics and formatting ---------------------------------------------

export function percentile(values, p) {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length) - 1;
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))];
}

export const median = (values) => percentile(values, 50);

export function round(x, digits = 2) {
  if (x === null || x === undefined || Number.isNaN(x)) return null;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** A ratio row: `value` compared with `target` (`>=` or `<=`), honest about missing inputs. */
export function ratio(name, numerator, denominator, target) {
  const value = numerator > 0 && denominator > 0 ? numerator / denominator : null;
  let met = null;
  if (target !== undefined && value !== null) met = target.op === '>=' ? value >= target.value : value <= target.value;
  return { name, value: round(value, 3), target: target ? `${target.op} ${target.value}` : '', met, goal: target?.goal };
}

export { sleep };

/** Polls until `fn` returns a value other than undefined, or throws after `ms`. */
export async function pollFor(fn, ms, what, everyMs = 1) {
  const deadline = performance.now() + ms;
  for (;;) {
    const value = fn();
    if (value !== undefined) return value;
    if (performance.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/**
 * A 16-byte ping over `writable`, resolved when as many bytes came back on
 * `readable`: the bare round trip the floors of roundtrip.mjs and queue.mjs time.
 */
export function echoRoundTrip(readable, writable, bytes = 16) {
  const message = Buffer.alloc(bytes, 0x61);
  let received = 0;
  let wake;
  readable.on('data', (chunk) => {
    received += chunk.length;
    if (received >= message.length) {
      received -= message.length;
      wake();
    }
  });
  return () => new Promise((resolve) => {
    wake = resolve;
    writable.write(message);
  });
}
