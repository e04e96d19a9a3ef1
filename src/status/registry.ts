/**
 * Owners register for `procsafe status`: one file per owner, `<runtimeDir>/owners/<pid>.json` (directory 0700, file 0600),
 * written when the process creates its first Pool or shared object and removed on a normal exit. A killed owner leaves its
 * file and socket behind; status sees the pid gone, shows it dead once and removes both. So they cannot pile up where
 * status never runs, each new owner keeps only the newest `kKeepDead` of them.
 * The file holds what status needs: the broker's socket and a status secret (queues and locks are read live from the
 * broker thread), and the latest pool snapshots, pushed by an unref'd main-thread timer at most every 250 ms, only on
 * change (or each second while a task runs, so "as of" stays true). A blocked main thread leaves a dated, stale snapshot:
 * status never waits for it.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isMainThread, threadId } from 'node:worker_threads';
import { pidExists, processAlive, procStat } from '../internal/proc.js';
import { runtimeDir } from '../transport/endpoint.js';
import { onOwnName, ownName } from '../internal/identity.js';

/**
 * What a Pool hands the registry, called only by its throttled timer: the pool's
 * JSON-safe snapshot (pool/snapshot.ts), and whether a task runs or waits.
 */
export type PoolReporter = () => { readonly snapshot: object; readonly busy: boolean };

export const kRegistryVersion = 1;
const kTickMs = 250;
const kHeartbeatMs = 1_000;
export const kKeepDead = 32;

export interface OwnerRecord {
  readonly version: number;
  readonly pid: number;
  /** Set when the owner is a worker thread (its objects and pools are its own). */
  readonly threadId: number | null;
  readonly argv: string[];
  /** Its Process name ('resizer-2') when it is a Process child (internal/identity.ts); absent or null otherwise. */
  readonly name?: string | null;
  readonly startedAt: number;
  /** The kernel's start time of the process (proc.ts), to tell it from a later one with its pid. null off Linux. */
  readonly procStart?: string | null;
  readonly kinds: string[];
  readonly broker: { readonly path: string; readonly secret: string } | null;
  readonly pools: object[];
  /** When `pools` was taken. */
  readonly poolsAt: number;
}

export function ownersDir(): string {
  return join(runtimeDir(), 'owners');
}

let record: { -readonly [K in keyof OwnerRecord]: OwnerRecord[K] } | undefined;
let file: string | undefined;
const pools = new Set<PoolReporter>();
let timer: NodeJS.Timeout | undefined;
let lastPools = '';
let lastWrite = 0;
let failed = false;

/** Notes that this process owns something of `kind`; the first call creates the file. */
export function registerOwner(kind: string): void {
  ensure();
  if (record !== undefined && !record.kinds.includes(kind)) {
    record.kinds.push(kind);
    write();
  }
}

function ensure(): void {
  if (failed) return;
  if (record === undefined) {
    record = {
      version: kRegistryVersion, pid: process.pid, threadId: isMainThread ? null : threadId, argv: process.argv.slice(1), name: ownName(),
      startedAt: Date.now(), procStart: procStat(process.pid)?.startTime ?? null, kinds: [], broker: null, pools: [], poolsAt: Date.now(),
    };
    try {
      const dir = ownersDir();
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      file = join(dir, isMainThread ? `${process.pid}.json` : `${process.pid}-t${threadId}.json`);
      pruneDead(dir);
    } catch {
      failed = true; // status is a convenience: never fail the pool or queue for it
      record = undefined;
      return;
    }
    process.on('exit', unregister);
  }
}

// A Process child learns its name after this module loaded: rewrite the entry it may have written.
onOwnName((name) => {
  if (record === undefined) return;
  record.name = name;
  write();
});

/** The broker's socket and the secret status proves to read it (broker/owner.ts). */
export function registerBroker(path: string, secret: string): void {
  ensure();
  if (record === undefined) return;
  record.broker = { path, secret };
  write();
}

/** A live pool: its snapshot is published until `untrackPool`. */
export function trackPool(pool: PoolReporter): void {
  registerOwner('pool');
  if (record === undefined) return;
  pools.add(pool);
  if (timer === undefined) {
    timer = setInterval(tick, kTickMs);
    timer.unref();
  }
  tick();
}

export function untrackPool(pool: PoolReporter): void {
  if (!pools.delete(pool)) return;
  tick();
  if (pools.size === 0 && timer !== undefined) {
    clearInterval(timer);
    timer = undefined;
  }
}

function tick(): void {
  if (record === undefined) return;
  const now = Date.now();
  const reports = [...pools].map((report) => report());
  const snapshots = reports.map((report) => report.snapshot);
  const text = JSON.stringify(snapshots);
  const running = reports.some((report) => report.busy);
  if (text === lastPools && !(running && now - lastWrite >= kHeartbeatMs)) return;
  lastPools = text;
  record.pools = snapshots;
  record.poolsAt = now;
  write();
}

function write(): void {
  if (record === undefined || file === undefined) return;
  try {
    const tmp = `${file}.tmp`;
    writeFileSync(tmp, JSON.stringify(record), { mode: 0o600 });
    renameSync(tmp, file);
    lastWrite = Date.now();
  } catch {
    // The runtime directory vanished or is full: status will not see us, nothing else changes.
  }
}

function unregister(): void {
  if (file === undefined) return;
  try { unlinkSync(file); } catch { /* already gone */ }
}

/** Removes all but the newest kKeepDead files of dead owners, with their sockets. Best effort. */
function pruneDead(dir: string): void {
  const dead = readOwners(dir).filter((owner) => !owner.alive).sort((a, b) => b.record.startedAt - a.record.startedAt);
  for (const owner of dead.slice(kKeepDead)) forgetOwner(owner);
}

export interface OwnerFile {
  readonly file: string;
  readonly record: OwnerRecord;
  /** internal/proc.ts processAlive: pid, zombie, start time. */
  readonly alive: boolean;
}

/** In name order. Files being replaced, removed meanwhile, or of another version or shape are skipped: one never fails status. */
export function readOwners(where?: string): OwnerFile[] {
  let dir: string;
  let names: string[];
  try {
    // Finding the runtime directory may fail (a full file system): then there is no owner to list.
    dir = where ?? ownersDir();
    names = readdirSync(dir).filter((name) => name.endsWith('.json')).sort();
  } catch {
    return [];
  }
  const owners: OwnerFile[] = [];
  for (const name of names) {
    const file = join(dir, name);
    let record: OwnerRecord;
    try {
      record = JSON.parse(readFileSync(file, 'utf8')) as OwnerRecord;
    } catch {
      continue;
    }
    if (record?.version !== kRegistryVersion || !Number.isSafeInteger(record.pid)) continue;
    if (!Array.isArray(record.pools) || !Array.isArray(record.kinds)) continue;
    owners.push({ file, record, alive: processAlive(record.pid, record.procStart ?? null) });
  }
  return owners;
}

/** A dead owner's file and its socket go. */
export function forgetOwner({ file, record }: OwnerFile): void {
  for (const path of [file, record.broker?.path]) {
    if (path === undefined) continue;
    try { unlinkSync(path); } catch { /* already gone */ }
  }
}

/** How owners name their sockets (transport/endpoint.ts newSocketPath): `<pid>-<12 hex>.sock`. */
const kSocketName = /^(\d+)-[0-9a-f]{12}\.sock$/;

/**
 * Removes (best effort) and counts sockets no entry in `named` points to whose process is gone (an owner SIGKILLed after
 * its entry was pruned, or before writing one). A live pid keeps its socket even if reused: a stale file costs nothing,
 * a live socket lost does.
 */
export function forgetStaleSockets(named: ReadonlySet<string>, dir: string = runtimeDir()): number {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return 0;
  }
  let removed = 0;
  for (const name of names) {
    const pid = kSocketName.exec(name)?.[1];
    const path = join(dir, name);
    if (pid === undefined || named.has(path) || pidExists(Number(pid))) continue;
    try {
      unlinkSync(path);
      removed++;
    } catch {
      // already gone
    }
  }
  return removed;
}
