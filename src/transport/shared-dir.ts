// The owner's private directory on /dev/shm (tmpfs: memory, never disk), beside its socket: one per owner, 0700, named
// after the socket. Its connections' lanes (lanes/), large queue items (queue/spill.ts) and SharedArray files live there,
// and it goes with its owner however the owner ends.
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import type { Socket } from 'node:net';
import { basename, dirname, join } from 'node:path';
import { pidExists } from '../internal/proc.js';
import { privateDir } from './endpoint.js';

/** The owner's directory for its socket at `socketPath` (it exists only where the owner could create it). */
export function sharedDirFor(socketPath: string): string {
  return join('/dev/shm', `procsafe-${process.getuid?.() ?? 0}`, basename(socketPath, '.sock'));
}

/** Directories tried, and whether they were made. */
const prepared = new Map<string, boolean>();

/** The owner's directory, made once per socket (best effort: undefined without one): lanes, large items, SharedArray files. */
export function prepareOwnerDir(socketPath: string): string | undefined {
  if (process.platform !== 'linux') return undefined;
  const dir = sharedDirFor(socketPath);
  const made = prepared.get(dir);
  if (made !== undefined) return made ? dir : undefined;
  prepared.set(dir, false);
  try {
    if (privateDir(dirname(dir)) === undefined) return undefined;
    mkdirSync(dir, { mode: 0o700 });
  } catch {
    return undefined;
  }
  prepared.set(dir, true);
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  sweepDeadOwners(dirname(dir));
  // `read` returns when the pipe's last writer, this process, is gone however it ended. The watcher ignores the signals
  // a service manager or a terminal sends the whole group (HUP, INT, TERM) so as to outlive the owner it cleans up after.
  const watcher = spawn('/bin/sh', ['-c', 'trap "" HUP INT TERM; read _; exec rm -rf -- "$0"', dir], {
    detached: true, stdio: ['pipe', 'ignore', 'ignore'],
  });
  watcher.on('error', () => { /* no sh: a normal exit still removes the directory */ });
  watcher.unref();
  (watcher.stdin as Socket | null)?.unref();
  return dir;
}

// Owners gone with their watcher (both killed at once: `kill -9 -1`, an OOM kill of the container) leave directories
// the next owner to start removes. A pid now used by another process keeps its directory until that pid is free again.
function sweepDeadOwners(root: string): void {
  let names: string[];
  try {
    names = readdirSync(root);
  } catch {
    return;
  }
  for (const name of names) {
    const pid = Number(name.slice(0, name.indexOf('-')));
    if (!Number.isSafeInteger(pid) || pid <= 0 || pid === process.pid || pidExists(pid)) continue;
    rmSync(join(root, name), { recursive: true, force: true });
  }
}
