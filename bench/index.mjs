// Runs every scenario in one process, prints the tables and writes BENCHMARKS.md.
// Environment: BENCH_QUICK=1 (smoke run), BENCH_ONLY=throughput,roundtrip,crash-latency,payload,queue,cold,pipe,shared-map,
// shared-array,condition,redis,
// BENCH_OUT (default ../BENCHMARKS.md), plus each scenario's own parameters (see its header).
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { cold } from './cold.mjs';
import { condition } from './condition.mjs';
import { crashLatency } from './crash-latency.mjs';
import { log, pythonVersion, quick } from './lib/common.mjs';
import { payload } from './payload.mjs';
import { pipe } from './pipe.mjs';
import { queue } from './queue.mjs';
import { redisPool } from './redis-pool.mjs';
import { roundtrip } from './roundtrip.mjs';
import { sharedArray } from './shared-array.mjs';
import { sharedMap } from './shared-map.mjs';
import { throughput } from './throughput.mjs';

const kScenarios = [
  { id: 'throughput', file: 'bench/throughput.mjs', run: throughput },
  { id: 'roundtrip', file: 'bench/roundtrip.mjs', run: roundtrip },
  { id: 'crash-latency', file: 'bench/crash-latency.mjs', run: crashLatency },
  { id: 'payload', file: 'bench/payload.mjs', run: payload },
  { id: 'queue', file: 'bench/queue.mjs', run: queue },
  { id: 'cold', file: 'bench/cold.mjs', run: cold },
  { id: 'pipe', file: 'bench/pipe.mjs', run: pipe },
  { id: 'shared-map', file: 'bench/shared-map.mjs', run: sharedMap },
  { id: 'shared-array', file: 'bench/shared-array.mjs', run: sharedArray },
  { id: 'condition', file: 'bench/condition.mjs', run: condition },
  { id: 'redis', file: 'bench/redis-pool.mjs', run: redisPool },
];

/** The targets, in the order BENCHMARKS.md lists them; ratio rows name theirs in `goal`. */
const kGoals = [
  'process throughput >= 3x the best process-based peer',
  'process throughput >= 1.5x Python multiprocessing',
  'thread throughput >= 2x piscina',
  'process round trip within 15% of a raw socketpair round trip',
  'crash detection p99 < 50 ms (SIGKILL to WorkerCrashed rejection)',
  'queue: streaming small items (8 B, 1 KiB) >= 3x Python multiprocessing.Queue',
  'queue: streaming 100 KiB items >= 1.5x Python multiprocessing.Queue',
  "queue: ping-pong round trip <= 0.8x Python's",
  'queue: 10 MiB items >= 80% of a raw Unix-socket stream',
  'lock: uncontended acquire + release <= 1 µs a pair',
  "lock: hand-off between two processes <= Python's",
  "cold: a Process start() + join() no slower than Python's spawn Process",
  "cold: a new process Pool's first result (with close) no slower than Python's spawn Pool(1)",
  'cold: warm sequential round trip (process) no slower than the best process peer',
  'cold: warm sequential round trip (thread) no slower than the best thread peer',
  'pipe: ping-pong round trip no slower than Python',
  "shared map: get/set from a child <= 0.5x Python's Manager().dict() time",
  'shared array: two processes summing one 80 MB SharedArray >= 10x faster than sending it to each',
  "condition: notify -> waiter awake in another process <= Python's time",
  'redis: 20k trivial tasks, 2 hosts >= 2x BullMQ jobs/s (concurrency 50)',
  "redis: one task at a time round trip <= 0.5x BullMQ's",
  "redis: Redis commands per task <= 0.5x BullMQ's",
];

const kRoot = new URL('../', import.meta.url);
const out = process.env.BENCH_OUT ? new URL(process.env.BENCH_OUT, `file://${process.cwd()}/`) : new URL('BENCHMARKS.md', kRoot);

function sh(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

function version(pkg) {
  try {
    const where = pkg === 'procsafe' ? 'package.json' : `bench/node_modules/${pkg}/package.json`;
    return JSON.parse(readFileSync(new URL(where, kRoot), 'utf8')).version;
  } catch {
    return '?';
  }
}

function machine() {
  return {
    nproc: sh('nproc', []) ?? String(os.availableParallelism()),
    cpu: os.cpus()[0]?.model ?? '?',
    memory: `${Math.round(os.totalmem() / 2 ** 30)} GiB`,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    python: pythonVersion() ?? 'not found',
    peers: `piscina ${version('piscina')}, tinypool ${version('tinypool')}, workerpool ${version('workerpool')}, bullmq ${version('bullmq')}`,
    procsafe: version('procsafe'),
  };
}

function cell(value) {
  if (value === null || value === undefined) return '–';
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  return String(value).replaceAll('|', '\\|').replaceAll('\n', ' ');
}

function columns(rows) {
  const keys = [];
  for (const row of rows) for (const key of Object.keys(row)) if (!keys.includes(key)) keys.push(key);
  return keys;
}

function markdownTable(rows, keys = columns(rows)) {
  if (rows.length === 0) return '_no rows_\n';
  const lines = [`| ${keys.join(' | ')} |`, `|${keys.map(() => ' --- ').join('|')}|`];
  for (const row of rows) lines.push(`| ${keys.map((k) => cell(row[k])).join(' | ')} |`);
  return `${lines.join('\n')}\n`;
}

function textTable(rows, keys = columns(rows)) {
  const widths = keys.map((k) => Math.max(k.length, ...rows.map((r) => cell(r[k]).length)));
  const line = (values) => values.map((v, i) => v.padEnd(widths[i])).join('  ');
  return [line(keys), line(widths.map((w) => '-'.repeat(w))), ...rows.map((r) => line(keys.map((k) => cell(r[k]))))].join('\n');
}

/** A scenario's tables: `tables` ({ caption, rows }) when it has several, else its `rows`. */
const tablesOf = (result) => result.tables ?? [{ rows: result.rows }];

const ratioRows = (ratios) => ratios.map(({ name, value, target, met }) => ({ ratio: name, value, target, met: met === null ? '' : met ? 'met' : 'not met' }));

function goalRows(results) {
  const all = results.flatMap((r) => r.ratios ?? []);
  return kGoals.map((goal) => {
    const mine = all.filter((r) => r.goal === goal);
    let verdict = 'not run';
    if (mine.length > 0) verdict = mine.some((r) => r.met === null) ? 'not measured' : mine.every((r) => r.met) ? 'met' : 'not met';
    return { target: goal, measured: mine.map((r) => `${r.value ?? '–'} (${r.name})`).join('; ') || '–', verdict };
  });
}

async function main() {
  const only = (process.env.BENCH_ONLY ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  for (const id of only) if (!kScenarios.some((s) => s.id === id)) throw new RangeError(`BENCH_ONLY: unknown scenario ${id}; known: ${kScenarios.map((s) => s.id).join(', ')}`);
  const env = Object.entries(process.env).filter(([k]) => k.startsWith('BENCH_') && k !== 'BENCH_OUT').map(([k, v]) => `${k}=${v}`).sort();
  const started = new Date();
  const loadBefore = os.loadavg().map((x) => x.toFixed(2)).join(' ');
  const results = [];
  for (const scenario of kScenarios) {
    if (only.length > 0 && !only.includes(scenario.id)) continue;
    log(`--- ${scenario.id}`);
    const t0 = performance.now();
    let result;
    try {
      result = await scenario.run();
    } catch (error) {
      log(`${scenario.id} failed: ${error.stack}`);
      result = { title: scenario.id, rows: [], ratios: [], notes: [`The scenario failed: ${error.message}`] };
    }
    result.file = scenario.file;
    result.seconds = Math.round((performance.now() - t0) / 100) / 10;
    results.push(result);
    console.log(`\n## ${result.title} (${result.seconds} s)\n`);
    for (const t of tablesOf(result)) console.log(`${t.caption ? `${t.caption}\n\n` : ''}${textTable(t.rows)}\n`);
    if (result.ratios.length > 0) console.log(`${textTable(ratioRows(result.ratios))}\n`);
  }
  const loadAfter = os.loadavg().map((x) => x.toFixed(2)).join(' ');
  const goals = goalRows(results);
  console.log(`\n## Targets\n\n${textTable(goals)}\n`);

  const m = machine();
  const busy = Math.max(Number(loadBefore.split(' ')[0]), Number(loadAfter.split(' ')[0])) > 0.5 * Number(m.nproc);
  const total = Math.round((Date.now() - started.getTime()) / 1000);
  const md = [
    '# Benchmarks',
    '',
    ...(quick ? ['> **Smoke run (BENCH_QUICK=1): sizes are tiny and the numbers are not representative.**', ''] : []),
    'Generated by `bench/index.mjs`; every number below was measured in a single run of:',
    '',
    '```sh',
    [...env, 'npm run bench'].join(' '),
    '```',
    '',
    `Run on ${started.toISOString()}, ${total} s in all. Parameters come from the environment ` +
    '(BENCH_N, BENCH_WARMUP, BENCH_RT_N, BENCH_KILLS, BENCH_PEER_KILLS, BENCH_PAYLOAD_MIB, BENCH_PAYLOAD_BYTES, BENCH_QUEUE_*, BENCH_COLD_*, ' +
    'BENCH_QUICK=1, BENCH_ONLY); see the header of each `bench/*.mjs`. Timings are never asserted in `npm test`.',
    '',
    '## Machine',
    '',
    markdownTable([
      { item: 'nproc', value: m.nproc }, { item: 'CPU', value: m.cpu }, { item: 'memory', value: m.memory },
      { item: 'OS', value: m.os }, { item: 'node', value: m.node }, { item: 'python3', value: m.python },
      { item: 'peers', value: m.peers }, { item: 'procsafe', value: `${m.procsafe} (dist/ built by this run)` },
      { item: 'load average (1, 5, 15 min) before / after', value: `${loadBefore} / ${loadAfter}` },
    ]),
    'Every pool runs with 2 workers (the cold scenario: 1). Ratios compare numbers from this same run.',
    '',
    ...(busy ? [`> The machine was not idle: the 1-minute load average was ${loadBefore.split(' ')[0]} at the start and ` +
      `${loadAfter.split(' ')[0]} at the end on ${m.nproc} CPUs (other work shared them), so absolute numbers are noisy; ` +
      'every peer ran under the same conditions, one after the other.', ''] : []),
    '## Targets',
    '',
    markdownTable(goals),
  ];
  for (const r of results) {
    md.push(`## ${r.title}`, '', `\`${r.file}\`, ${r.seconds} s.`, '', ...r.notes.map((n) => `- ${n}`), '');
    for (const t of tablesOf(r)) md.push(...(t.caption ? [`**${t.caption}**`, ''] : []), markdownTable(t.rows));
    if (r.ratios.length > 0) md.push('', markdownTable(ratioRows(r.ratios)));
    md.push('');
  }
  writeFileSync(out, md.join('\n'));
  log(`wrote ${fileURLToPath(out)}`);
}

await main();
// Every pool and child is closed by now. If something still holds the loop, name it and leave anyway.
setTimeout(() => {
  const handles = process._getActiveHandles?.().map((h) => h?.constructor?.name) ?? [];
  console.error(`[bench] the event loop is still busy 10 s after the run (handles: ${handles.join(', ')}); exiting`);
  process.exit(2);
}, 10_000).unref();
