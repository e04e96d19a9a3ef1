/** Shared test helpers: fixtures, temp files, and pid polling (a test proves "no orphans" this way). */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pidExists } from '../../dist/internal/proc.js';

/** Compiled tests live in dist-test/<dir>/, two levels below the repository root. */
export const repoRoot = new URL('../../', import.meta.url);

export function fixture(name: string): URL {
  return new URL(`test/fixtures/${name}`, repoRoot);
}

/** The worker module most tests use. */
export const tasks = fixture('tasks.mjs');

/** A fresh temporary directory, removed when `t.after` runs. */
export function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'procsafe-test-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Whether `pid` exists: the library's own check (a zombie counts, as for kill(pid, 0)). */
export const isAlive: (pid: number) => boolean = pidExists;

/** Polls until `pid` is gone; false if it is still alive after `timeoutMs`. */
export async function waitForExit(pid: number, timeoutMs = 5000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return true;
    await sleep(20);
  }
  return !isAlive(pid);
}

/**
 * Waits until `condition()` holds, checking every 10 ms, for state the code under test
 * reaches a turn or two after the event a test awaited (a replacement worker is spawned on
 * the turn after a crash settles its task). Throws naming `what` after `timeoutMs`.
 */
export async function waitUntil(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`);
    await sleep(10);
  }
}

/** Waits for a worker to write its pid into `path` (the fixture's reportThenHang does). */
export async function waitForPid(path: string, timeoutMs = 10_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const text = readFileSync(path, 'utf8');
      if (text !== '') return Number(text);
    } catch {
      // not written yet
    }
    await sleep(5);
  }
  throw new Error(`no pid was written to ${path} within ${timeoutMs} ms`);
}

/** Children of `pid`, from /proc (Linux). */
export function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** A started Process running `fn` of the queue fixtures; SIGKILLed when the test ends, whatever happened. */
export async function startChild(t: { after: (fn: () => void) => void }, fn: string, args: unknown[]): Promise<import('procsafe').Process> {
  const { Process } = await import('procsafe');
  const p = new Process({ module: fixture('queue-tasks.mjs'), fn, args, stdout: 'ignore', stderr: 'inherit' });
  t.after(() => { p.kill('SIGKILL'); });
  await p.start();
  return p;
}

/**
 * Samples the peak resident set (VmHWM, Linux) of `pid` every `everyMs` until `stop()`,
 * which returns it in KiB (0 if the process was never seen).
 */
export function samplePeakRss(pid: number, everyMs = 50): { stop: () => number } {
  let peakKb = 0;
  const sample = (): void => {
    try {
      const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (match !== null) peakKb = Math.max(peakKb, Number(match[1]));
    } catch {
      // exited
    }
  };
  const timer = setInterval(sample, everyMs);
  return { stop: () => { clearInterval(timer); return peakKb; } };
}

/**
 * The files in an owner's /dev/shm directory less those of its transport: a connection's lane file and bells exist there
 * between the owner's offer and the client's switch (then they are unlinked), and a lock's word for the owner's life.
 */
export function ownerItems(dir: string): string[] {
  return readdirSync(dir).filter((name) => !name.startsWith('lane-') && !name.startsWith('word-'));
}
