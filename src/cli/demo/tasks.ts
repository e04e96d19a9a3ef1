/**
 * The worker module of `procsafe demo`. Each victim first tells the demo, through
 * a marker file, its pid and when it is about to fail, then fails; so the demo
 * measures from the fault itself rather than from when the task was submitted.
 */
import { renameSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { hangForever, now } from './clock.js';

/** What a victim writes into its marker file. */
export interface Marker {
  readonly pid: number;
  /** now(): comparable across processes. */
  readonly at: number;
}

export interface BystanderResult {
  readonly value: number;
  readonly pid: number;
  readonly startedAt: number;
  readonly endedAt: number;
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
  return hangForever();
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

/**
 * A lock in module state, as in seeds 002 and 003 (logging's lock, held by a
 * thread when fork() copied it). The demo's own process holds it while its
 * pool starts; a worker that inherited it held would wait for ever, a worker
 * started fresh finds it free.
 */
const moduleLock = new Int32Array(new SharedArrayBuffer(4));

export function holdModuleLock(): void {
  if (Atomics.compareExchange(moduleLock, 0, 0, 1) !== 0) throw new Error('the module lock is already held');
}

export function releaseModuleLock(): void {
  Atomics.store(moduleLock, 0, 0);
  Atomics.notify(moduleLock, 0);
}

/** Holds the module lock `holdMs` (a second call then lands on another worker); throws if still held by another after `waitMs`. */
export async function takeModuleLock(waitMs: number, holdMs: number): Promise<{ pid: number }> {
  const deadline = Date.now() + waitMs;
  while (Atomics.compareExchange(moduleLock, 0, 0, 1) !== 0) {
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`the module lock was still held after ${waitMs} ms`);
    Atomics.wait(moduleLock, 0, 1, left);
  }
  await sleep(holdMs);
  releaseModuleLock();
  return { pid: process.pid };
}
