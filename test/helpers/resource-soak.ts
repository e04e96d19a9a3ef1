/**
 * The soak's long resource run: test/fixtures/resource-owner.mjs moves queue
 * items to 2 child readers while a 4-worker pool runs tasks, for `durationMs`
 * and until at least `items` items and `tasks` tasks are through; every
 * `everyMs` the resident set (VmRSS) and open descriptors (/proc/<pid>/fd) of
 * the owner, its readers and its pool workers are sampled. After a warm-up, a
 * process whose RSS or descriptor count keeps growing is a leak: the run fails
 * when the median of the last samples exceeds that of the first by more than
 * the bounds. Used by `npm run soak` (scripts/soak.mjs).
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { childPids, fixture, isAlive, waitForExit } from './index.js';

export interface ResourceOptions {
  /** At least this many queue items and pool tasks, … */
  readonly items: number;
  readonly tasks: number;
  /** … and for this long. */
  readonly durationMs: number;
  /** Every this many items, one of 64 KiB (a /dev/shm file). */
  readonly bigEvery: number;
  readonly everyMs: number;
  readonly warmupMs: number;
  /** The whole run, warm-up included; not finished by then (the minimums not reached) is a failure. */
  readonly limitMs: number;
  /** No progress for this long is a hang. */
  readonly stallMs: number;
  /** RSS may grow by this fraction of the first post-warm-up samples' … */
  readonly rssGrowth: number;
  /** … and by at most this many KiB. */
  readonly rssGrowthKb: number;
  readonly fdGrowth: number;
}

interface Sample { readonly ms: number; readonly rssKb: number; readonly fds: number }
interface Series { readonly pid: number; readonly role: string; readonly samples: Sample[] }

export interface ResourceOutcome {
  readonly failures: string[];
  /** One line per process: its samples summed up. */
  readonly lines: string[];
  readonly seconds: number;
  readonly items: number;
  readonly tasks: number;
}

/** VmRSS (KiB) and the number of open descriptors of `pid`, or undefined once it is gone. */
function sample(pid: number): { rssKb: number; fds: number } | undefined {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    if (match === null) return undefined;
    return { rssKb: Number(match[1]), fds: readdirSync(`/proc/${pid}/fd`).length };
  } catch {
    return undefined;
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] as number : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

const mib = (kb: number): string => (kb / 1024).toFixed(1);

export async function resourceSoak(options: ResourceOptions): Promise<ResourceOutcome> {
  const started = performance.now();
  const failures: string[] = [];
  const args = [fileURLToPath(fixture('resource-owner.mjs')), String(options.items), String(options.tasks), String(options.bigEvery)];
  const owner = spawn(process.execPath, args, {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  // Closing its stdin tells the owner to finish once the minimums are reached.
  const stop = setTimeout(() => owner.stdin.end(), options.durationMs);
  const ownerPid = owner.pid as number;
  const series = new Map<number, Series>([[ownerPid, { pid: ownerPid, role: 'owner', samples: [] }]]);
  let readers: number[] | undefined;
  let progress = { items: 0, tasks: 0 };
  let progressAt = performance.now();
  let done: { items: number; tasks: number; read: { count: number; bad: number }[]; stats: { crashed: number } } | undefined;
  let tail = '';
  owner.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    const lines = (tail + chunk).split('\n');
    tail = lines.pop() as string;
    for (const line of lines) {
      let message: Record<string, unknown>;
      try { message = JSON.parse(line) as Record<string, unknown>; } catch { continue; }
      if (Array.isArray(message['readerPids'])) readers = message['readerPids'] as number[];
      else if (message['done'] === true) done = message as unknown as typeof done;
      else if (message['items'] !== progress.items || message['tasks'] !== progress.tasks) {
        progress = { items: Number(message['items']), tasks: Number(message['tasks']) };
        progressAt = performance.now();
      }
    }
  });
  const exited = new Promise<number | null>((resolve) => owner.on('exit', (code) => resolve(code)));
  let ended = false;
  void exited.then(() => { ended = true; });

  // Every descendant is sampled: the readers by the pids they reported, every other node child is a pool worker.
  const tick = (): void => {
    const ms = performance.now() - started;
    // Until the readers are known, a new child could be taken for a worker.
    const known = new Set(readers ?? []);
    for (const pid of readers === undefined ? [] : childPids(ownerPid)) {
      if (series.has(pid)) continue;
      let cmdline = '';
      try { cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8'); } catch { continue; }
      if (!cmdline.includes('bootstrap')) continue; // the /dev/shm watcher (sh)
      series.set(pid, { pid, role: known.has(pid) ? 'reader' : 'pool worker', samples: [] });
    }
    for (const s of series.values()) {
      const got = sample(s.pid);
      if (got !== undefined) s.samples.push({ ms, ...got });
    }
  };
  const timer = setInterval(tick, options.everyMs);
  while (!ended) {
    const now = performance.now();
    if (now - started > options.limitMs) {
      failures.push(`not finished within ${options.limitMs} ms (at ${progress.items} items, ${progress.tasks} tasks): ` +
        'lower SOAK_RESOURCE_ITEMS/TASKS');
      break;
    }
    if (now - progressAt > options.stallMs) {
      failures.push(`HANG: no progress for ${options.stallMs} ms (at ${progress.items} items, ${progress.tasks} tasks)`);
      break;
    }
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 250))]);
  }
  clearInterval(timer);
  clearTimeout(stop);
  if (!ended) owner.kill('SIGKILL');
  const code = await exited;
  if (failures.length === 0) {
    if (code !== 0 || done === undefined) failures.push(`the owner exited with code ${code} before it finished`);
    else {
      const read = done.read.reduce((sum, r) => sum + r.count, 0);
      if (read !== done.items || done.items < options.items) {
        failures.push(`${done.items} items put (at least ${options.items} were due), ${read} read`);
      }
      if (done.read.some((r) => r.bad > 0)) failures.push('a large item arrived with wrong bytes');
      if (done.tasks < options.tasks) failures.push(`${done.tasks} tasks, of at least ${options.tasks}`);
      if (done.stats.crashed > 0) failures.push(`${done.stats.crashed} pool workers crashed`);
    }
  }
  // Nothing of the run outlives it.
  for (const s of series.values()) if (!(await waitForExit(s.pid, 10_000))) failures.push(`${s.role} ${s.pid} outlived the owner`);
  for (const s of series.values()) if (isAlive(s.pid)) process.kill(s.pid, 'SIGKILL');

  const lines: string[] = [];
  for (const s of series.values()) {
    const post = s.samples.filter((x) => x.ms >= options.warmupMs);
    const what = `${s.role} ${s.pid}`;
    if (post.length < 10) {
      if (failures.length === 0) {
        failures.push(`${what}: ${post.length} samples after the warm-up, too few to judge ` +
          '(raise SOAK_RESOURCE_MS or lower SOAK_RESOURCE_WARMUP_MS)');
      }
      continue;
    }
    const first = post.slice(0, 5);
    const last = post.slice(-5);
    const rss0 = median(first.map((x) => x.rssKb));
    const rss1 = median(last.map((x) => x.rssKb));
    const fd0 = median(first.map((x) => x.fds));
    const fd1 = median(last.map((x) => x.fds));
    const rssMax = Math.max(...post.map((x) => x.rssKb));
    const fdMax = Math.max(...post.map((x) => x.fds));
    lines.push(`${what}: ${post.length} samples after warm-up; ` +
      `RSS ${mib(rss0)} -> ${mib(rss1)} MiB (max ${mib(rssMax)}), fds ${fd0} -> ${fd1} (max ${fdMax})`);
    if (rss1 - rss0 > options.rssGrowthKb || rss1 > rss0 * (1 + options.rssGrowth)) {
      failures.push(`${what}: RSS grew from ${mib(rss0)} to ${mib(rss1)} MiB ` +
        `(bounds: +${options.rssGrowth * 100}%, +${mib(options.rssGrowthKb)} MiB)`);
    }
    if (fd1 - fd0 > options.fdGrowth) failures.push(`${what}: open descriptors grew from ${fd0} to ${fd1} (bound: +${options.fdGrowth})`);
  }
  const seconds = (performance.now() - started) / 1000;
  return { failures, lines, seconds, items: done?.items ?? progress.items, tasks: done?.tasks ?? progress.tasks };
}
