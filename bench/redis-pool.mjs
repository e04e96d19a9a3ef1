// Scenario redis: a Redis Pool against BullMQ on the same redis-server (started here, on loopback, no persistence), in
// the same run. Throughput: BENCH_REDIS_N trivial tasks (default 20000) with 2 worker hosts (`procsafe worker -j 1`:
// one worker process each) against 2 BullMQ worker processes at concurrency 50. Round trip: BENCH_REDIS_RT_N tasks
// (default 1000) one at a time. Redis commands per task from INFO commandstats (calls made inside scripts counted),
// reset before each measurement.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { envInt, log, ratio, round, sleep, withTimeout } from './lib/common.mjs';

export const title = 'Redis Pool against BullMQ (one redis-server)';

const kRoot = new URL('../', import.meta.url);
const kTasks = fileURLToPath(new URL('./workers/tasks.mjs', import.meta.url));
const kBullWorker = fileURLToPath(new URL('./workers/bullmq-worker.mjs', import.meta.url));

async function freePort() {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function cli(port, ...args) {
  return spawnSync('redis-cli', ['-p', String(port), ...args], { encoding: 'utf8' }).stdout;
}

/** Every command's calls since the last reset, summed (INFO commandstats counts those run inside scripts too). */
function commands(port) {
  let calls = 0;
  for (const match of cli(port, 'INFO', 'commandstats').matchAll(/calls=(\d+)/g)) calls += Number(match[1]);
  return calls;
}

/** Spawns `n` processes from `argv`, each printing a line with `marker` once it serves. */
async function start(n, argv, marker) {
  const children = [];
  for (let i = 0; i < n; i++) {
    const child = spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    await withTimeout(new Promise((resolve, reject) => {
      let text = '';
      const seen = (chunk) => {
        text += chunk;
        if (text.includes(marker)) resolve();
      };
      child.stdout.on('data', seen);
      child.stderr.on('data', seen);
      child.once('exit', (code) => reject(new Error(`exited ${code} before serving: ${text}`)));
    }), 30_000, `worker ${i} to serve`);
  }
  return async () => {
    await Promise.all(children.map((child) => new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', resolve);
      child.kill('SIGKILL');
    })));
  };
}

async function procsafeRuns(url, port, n, rtN) {
  const { Pool } = await import(new URL('dist/index.js', kRoot));
  const name = `bench-${process.pid}`;
  const stop = await start(2, [fileURLToPath(new URL('dist/cli/main.js', kRoot)), 'worker', '--redis', url, '--name', name,
    '-j', '1', kTasks], 'serving pool');
  const pool = new Pool({ redis: url, name, module: kTasks });
  try {
    for (let i = 0; i < 2000; i++) await pool.apply('inc', [i]);
    await Promise.all(Array.from({ length: 2000 }, (_, i) => pool.apply('inc', [i])));
    cli(port, 'CONFIG', 'RESETSTAT');
    let t0 = performance.now();
    const results = await Promise.all(Array.from({ length: n }, (_, i) => pool.apply('inc', [i])));
    const seconds = (performance.now() - t0) / 1000;
    if (results[n - 1] !== n) throw new Error('procsafe: wrong result');
    const perTask = commands(port) / n;
    cli(port, 'CONFIG', 'RESETSTAT');
    t0 = performance.now();
    for (let i = 0; i < rtN; i++) await pool.apply('inc', [i]);
    const rtMs = (performance.now() - t0) / rtN;
    const rtCommands = commands(port) / rtN;
    return { jobsPerSec: n / seconds, rtMs, perTask, rtCommands };
  } finally {
    await pool.terminate();
    await stop();
  }
}

// One producer and one consumer in this process, 8-byte items (numbers), on a Queue owned here (lanes or socket to this
// process's broker thread) and on a Redis Queue: items/s, each after a warm-up of a tenth.
async function queueStreams(url, n) {
  const { Queue } = await import(new URL('dist/index.js', kRoot));
  const stream = async (q) => {
    const run = async (count) => {
      const consumer = (async () => { for (let i = 0; i < count; i++) await q.get(); })();
      for (let i = 0; i < count; i += 100) await q.putMany(Array.from({ length: Math.min(100, count - i) }, (_, j) => i + j));
      await consumer;
    };
    await run(Math.max(100, Math.floor(n / 10)));
    const t0 = performance.now();
    await run(n);
    return n / ((performance.now() - t0) / 1000);
  };
  const local = new Queue();
  const redis = new Queue({ redis: url, name: `bench-q-${process.pid}` });
  try {
    return { local: await stream(local), redis: await stream(redis) };
  } finally {
    await redis.disconnect();
  }
}

async function bullRuns(url, port, n, rtN) {
  const { Queue, QueueEvents } = await import('bullmq');
  const name = `bench-bull-${process.pid}`;
  const { hostname, port: p } = new URL(url);
  const connection = { host: hostname, port: Number(p), maxRetriesPerRequest: null };
  const queue = new Queue(name, { connection, defaultJobOptions: { removeOnComplete: 1000, removeOnFail: 1000 } });
  const events = new QueueEvents(name, { connection });
  await events.waitUntilReady();
  const stop = await start(2, [kBullWorker, url, name, '50'], 'ready');
  try {
    const drain = async (count) => {
      const done = new Promise((resolve) => {
        let left = count;
        const onDone = () => { if (--left === 0) { events.off('completed', onDone); resolve(); } };
        events.on('completed', onDone);
      });
      for (let i = 0; i < count; i += 1000) {
        await queue.addBulk(Array.from({ length: Math.min(1000, count - i) }, (_, j) => ({ name: 'inc', data: { x: i + j } })));
      }
      await done;
    };
    await drain(2000);
    cli(port, 'CONFIG', 'RESETSTAT');
    let t0 = performance.now();
    await drain(n);
    const seconds = (performance.now() - t0) / 1000;
    const perTask = commands(port) / n;
    cli(port, 'CONFIG', 'RESETSTAT');
    t0 = performance.now();
    for (let i = 0; i < rtN; i++) {
      const job = await queue.add('inc', { x: i });
      const value = await job.waitUntilFinished(events);
      if (value !== i + 1) throw new Error('bullmq: wrong result');
    }
    const rtMs = (performance.now() - t0) / rtN;
    const rtCommands = commands(port) / rtN;
    return { jobsPerSec: n / seconds, rtMs, perTask, rtCommands };
  } finally {
    await stop();
    await events.close();
    await queue.close();
  }
}

export async function redisPool() {
  const n = envInt('BENCH_REDIS_N', 20_000, 2000);
  const rtN = envInt('BENCH_REDIS_RT_N', 1000, 200);
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'procsafe-bench-redis-'));
  const server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--dir', dir,
    '--maxmemory-policy', 'noeviction'], { stdio: 'ignore' });
  const url = `redis://127.0.0.1:${port}`;
  try {
    for (let i = 0; !cli(port, 'PING').includes('PONG'); i++) {
      if (i > 200) throw new Error('redis-server did not start');
      await sleep(25);
    }
    const version = /redis_version:(\S+)/.exec(cli(port, 'INFO', 'server'))?.[1] ?? '?';
    log('redis: procsafe');
    const ours = await procsafeRuns(url, port, n, rtN);
    cli(port, 'FLUSHALL');
    log('redis: bullmq');
    const bull = await bullRuns(url, port, n, rtN);
    cli(port, 'FLUSHALL');
    log('redis: queue streams');
    const queueN = envInt('BENCH_REDIS_QUEUE_N', 5000, 1000);
    const streams = await queueStreams(url, queueN);
    const row = (system, r, setup) => ({
      system, setup, jobsPerSec: Math.round(r.jobsPerSec), roundTripMs: round(r.rtMs, 2),
      commandsPerTask: round(r.perTask, 1), commandsPerTaskOneAtATime: round(r.rtCommands, 1),
    });
    const rows = [
      row('procsafe Redis Pool', ours, '2 × `procsafe worker -j 1`; submitter `new Pool({ redis, name })`'),
      row('BullMQ', bull, '2 worker processes, concurrency 50; removeOnComplete: 1000'),
    ];
    return {
      title,
      rows,
      tables: [{ caption: 'Pool: the Redis Pool against BullMQ', rows }, {
        caption: `Queue, 8 B items, one producer (putMany of 100) and one consumer (get() one at a time) in one process, ${queueN} items`,
        rows: [
          { queue: 'local Queue (owned by this process)', itemsPerSec: Math.round(streams.local) },
          { queue: 'Redis Queue', itemsPerSec: Math.round(streams.redis) },
        ],
      }],
      ratios: [
        ratio('Redis Queue / local Queue (items/s, 8 B)', streams.redis, streams.local),
        ratio('procsafe / BullMQ jobs/s, 20k trivial tasks, 2 hosts', ours.jobsPerSec, bull.jobsPerSec,
          { op: '>=', value: 2, goal: 'redis: 20k trivial tasks, 2 hosts >= 2x BullMQ jobs/s (concurrency 50)' }),
        ratio('procsafe / BullMQ round trip (time)', ours.rtMs, bull.rtMs,
          { op: '<=', value: 0.5, goal: "redis: one task at a time round trip <= 0.5x BullMQ's" }),
        ratio('procsafe / BullMQ Redis commands per task (throughput run)', ours.perTask, bull.perTask,
          { op: '<=', value: 0.5, goal: "redis: Redis commands per task <= 0.5x BullMQ's" }),
      ],
      notes: [
        `One redis-server ${version} on loopback without persistence, shared by both in turn (FLUSHALL between). ` +
        `${n} tasks of \`inc\` submitted at once (procsafe: apply() each, sent a thousand per script call; BullMQ: addBulk ` +
        'of 1000), timed from the first submit to the last result; then ' +
        `${rtN} tasks one at a time (procsafe: apply; BullMQ: add + waitUntilFinished with QueueEvents). 2000 warm-up ` +
        'tasks each first. Commands per task: INFO commandstats calls (those inside Lua scripts included), reset before ' +
        'each measurement, divided by the tasks.',
      ],
    };
  } finally {
    server.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}
