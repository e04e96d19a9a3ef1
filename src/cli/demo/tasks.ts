/**
 * The worker module of `procsafe demo`. Each victim first tells the demo, through
 * a marker file, its pid and when it is about to fail, then fails; so the demo
 * measures from the fault itself rather than from when the task was submitted.
 */
import { renameSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/** What a victim writes into its marker file. */
export interface Marker {
  readonly pid: number;
  /** Wall-clock ms with sub-ms precision (`performance.timeOrigin + performance.now()`), comparable across processes. */
  readonly at: number;
}

/** What the bystander returns: its answer, where it ran and when. */
export interface BystanderResult {
  readonly value: number;
  readonly pid: number;
  readonly startedAt: number;
  readonly endedAt: number;
}

function now(): number {
  return performance.timeOrigin + performance.now();
}

// Written then renamed, so the demo, which polls for the file, never reads half of it.
function mark(path: string): void {
  const marker: Marker = { pid: process.pid, at: now() };
  writeFileSync(`${path}.tmp`, JSON.stringify(marker));
  renameSync(`${path}.tmp`, path);
}

/** Returns the pid of the worker after `ms`, so that concurrent calls land on different workers. */
export async function whoami(ms: number): Promise<number> {
  await sleep(ms);
  return process.pid;
}

export function square(x: number): number {
  return x * x;
}

/** The task that runs next to the victim, and must complete whatever happens to it. */
export async function bystander(x: number, ms: number): Promise<BystanderResult> {
  const startedAt = now();
  await sleep(ms);
  return { value: x * x, pid: process.pid, startedAt, endedAt: now() };
}

/** Reports its pid, then waits for ever: the demo kills it with SIGKILL. */
export function reportThenHang(path: string): Promise<never> {
  mark(path);
  return new Promise<never>(() => { setInterval(() => {}, 1 << 30); });
}

export function exitWith(path: string, code: number): never {
  mark(path);
  process.exit(code);
}

export function abort(path: string): never {
  mark(path);
  process.abort();
}

export function spinForever(path: string): never {
  mark(path);
  for (;;);
}

/** Keeps every allocation reachable, so only the heap limit can stop it. */
export function eatMemory(path: string): never {
  mark(path);
  const hog: unknown[] = [];
  for (;;) hog.push(new Array<{ n: number }>(100_000).fill({ n: hog.length }));
}
