#!/usr/bin/env node
// npm run soak: the crash storm (500 tasks, a fifth of them killing their worker,
// retries: 10) repeated SOAK_ROUNDS times (default 20) for each isolation. A round
// that does not finish within SOAK_ROUND_MS is reported as a hang and the soak
// fails. Then the JoinableQueue chaos run with SOAK_QUEUE_ITEMS items (default
// 20000), SOAK_QUEUE_ROUNDS times (default 3; the last with 64 KiB items, which
// travel as /dev/shm files: every one whole, none left behind). Then `procsafe map` over
// SOAK_MAP_LINES (default 1 million) lines of 1 KiB, stdin to stdout, under a 48 MiB
// heap: the CLI's peak RSS must stay flat. Last, the long resource run: for
// SOAK_RESOURCE_MS (default 120 s), and until at least SOAK_RESOURCE_ITEMS queue items
// (default 200000) reached 2 child readers and SOAK_RESOURCE_TASKS tasks (default
// 200000) ran in a 4-worker pool (not done 60 s later: a failure), the RSS and open
// descriptors of the owner, readers and workers are sampled every second; after
// SOAK_RESOURCE_WARMUP_MS (default 20 s) none may grow by more than +50% or +64 MiB of
// RSS, nor by more than 16 descriptors. A part is skipped by setting its count to 0
// (SOAK_ROUNDS, SOAK_QUEUE_ROUNDS, SOAK_MAP_LINES, SOAK_RESOURCE_MS). Not part of npm test.
import { spawn } from 'node:child_process';
import { crashStorm } from '../dist-test/helpers/crash-storm.js';
import { samplePeakRss } from '../dist-test/helpers/index.js';
import { queueChaos } from '../dist-test/helpers/queue-chaos.js';
import { resourceSoak } from '../dist-test/helpers/resource-soak.js';

const rounds = Number(process.env.SOAK_ROUNDS ?? 20);
const limitMs = Number(process.env.SOAK_ROUND_MS ?? 120_000);
let hangs = 0;
let failures = 0;
for (const isolation of ['process', 'thread']) {
  for (let round = 1; round <= rounds; round++) {
    const started = performance.now();
    let timer;
    const deadline = new Promise((resolve) => { timer = setTimeout(() => resolve('hang'), limitMs); });
    const outcome = await Promise.race([crashStorm(isolation).then((stats) => stats, (error) => error), deadline]);
    clearTimeout(timer);
    const ms = Math.round(performance.now() - started);
    if (outcome === 'hang') {
      hangs++;
      console.log(`${isolation} round ${round}: HANG (no result after ${limitMs} ms)`);
    } else if (outcome instanceof Error) {
      failures++;
      console.log(`${isolation} round ${round}: FAILED in ${ms} ms: ${outcome.message}`);
    } else {
      console.log(`${isolation} round ${round}: ok in ${ms} ms, ${outcome.crashed} worker crashes, ${outcome.retried} retries`);
    }
  }
}
const queueRounds = Number(process.env.SOAK_QUEUE_ROUNDS ?? 3);
const queueItems = Number(process.env.SOAK_QUEUE_ITEMS ?? 20_000);
// The last round carries 64 KiB items: through /dev/shm files, none left by the dead.
for (let round = 1; round <= queueRounds; round++) {
  const itemBytes = round === queueRounds ? 64 * 1024 : 0;
  const what = `queue chaos round ${round}${itemBytes > 0 ? ' (64 KiB items)' : ''}`;
  let timer;
  const deadline = new Promise((resolve) => { timer = setTimeout(() => resolve('hang'), Math.max(limitMs, queueItems * 30)); });
  const outcome = await Promise.race([queueChaos(queueItems, round, itemBytes).then((stats) => stats, (error) => error), deadline]);
  clearTimeout(timer);
  if (outcome === 'hang') {
    hangs++;
    console.log(`${what}: HANG`);
  } else if (outcome instanceof Error) {
    failures++;
    console.log(`${what}: FAILED: ${outcome.message}`);
  } else {
    console.log(`${what}: ok in ${outcome.ms} ms, ${outcome.items} items, ${outcome.kills} kills, ${outcome.duplicates} duplicates (each explained by a death)`);
  }
}
const mapLines = Number(process.env.SOAK_MAP_LINES ?? 1_000_000);
if (mapLines > 0) {
  const outcome = await mapMillion(mapLines);
  if (outcome.error !== undefined) failures++;
  console.log(`map over ${mapLines} lines: ${outcome.error ?? 'ok'} in ${outcome.seconds.toFixed(1)} s, ${outcome.lines} output lines, CLI peak RSS ${outcome.peakMiB} MiB`);
}
const resourceMs = Number(process.env.SOAK_RESOURCE_MS ?? 120_000);
if (resourceMs > 0) {
  const outcome = await resourceSoak({
    items: Number(process.env.SOAK_RESOURCE_ITEMS ?? 200_000), tasks: Number(process.env.SOAK_RESOURCE_TASKS ?? 200_000),
    durationMs: resourceMs, limitMs: resourceMs + 60_000, bigEvery: 50, everyMs: 1000,
    warmupMs: Number(process.env.SOAK_RESOURCE_WARMUP_MS ?? 20_000),
    stallMs: 30_000, rssGrowth: 0.5, rssGrowthKb: 64 * 1024, fdGrowth: 16,
  });
  for (const line of outcome.lines) console.log(`  ${line}`);
  for (const failure of outcome.failures) console.log(`  FAILED: ${failure}`);
  if (outcome.failures.some((failure) => failure.startsWith('HANG'))) hangs++;
  else if (outcome.failures.length > 0) failures++;
  console.log(`resource run: ${outcome.failures.length === 0 ? 'ok' : 'FAILED'} in ${outcome.seconds.toFixed(1)} s, ${outcome.items} queue items, ${outcome.tasks} pool tasks`);
}
console.log(`soak: ${rounds * 2} pool rounds and ${queueRounds} queue chaos rounds, ${hangs} hangs, ${failures} failures`);
process.exit(hangs + failures === 0 ? 0 : 1);

/** Streams `count` JSON lines through `procsafe map` (stdin to stdout) and samples the CLI's peak RSS. */
async function mapMillion(count) {
  const started = performance.now();
  const child = spawn(process.execPath, ['--max-old-space-size=48', 'dist/cli/main.js', 'map', 'test/fixtures/map-tasks.mjs#len', '-q'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const rss = samplePeakRss(child.pid, 100);
  let lines = 0;
  let bad = 0;
  let tail = '';
  child.stdout.setEncoding('utf8').on('data', (chunk) => {
    const parts = (tail + chunk).split('\n');
    tail = parts.pop();
    for (const line of parts) {
      if (!line.startsWith(`{"i":${lines},"ok":true,`)) bad++;
      lines++;
    }
  });
  const pad = 'x'.repeat(1000);
  // Written with backpressure: the input is never held whole, here or in the CLI.
  for (let i = 0; i < count; i += 1000) {
    let chunk = '';
    for (let j = i; j < Math.min(count, i + 1000); j++) chunk += `"${pad}${j}"\n`;
    if (!child.stdin.write(chunk)) await new Promise((resolve) => child.stdin.once('drain', resolve));
  }
  child.stdin.end();
  const code = await new Promise((resolve) => child.on('close', resolve));
  const peakKb = rss.stop();
  const error = code !== 0 ? `exit code ${code}` : lines !== count ? `${lines} lines out` : bad > 0 ? `${bad} lines out of order or failed` : undefined;
  return { error, lines, seconds: (performance.now() - started) / 1000, peakMiB: Math.round(peakKb / 1024) };
}
