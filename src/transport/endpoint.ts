// Where owners listen: Unix sockets in a per-user 0700 directory, so no other user can even reach the socket; the
// object's secret then proves a peer was handed the object (auth.ts).
import { randomBytes } from 'node:crypto';
import { lstatSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let cached: string | undefined;

/** Fallbacks tried after a planted `<tmp>/procsafe-<uid>`: `-1` … `-8`. */
const kFallbacks = 8;

// In the order every process of the user tries them: $XDG_RUNTIME_DIR/procsafe, <tmp>/procsafe-<uid>, then
// <tmp>/procsafe-<uid>-1 … -8 (for when another user planted the first).
function runtimeDirCandidates(): string[] {
  const uid = process.getuid?.() ?? 0;
  const base = process.env['XDG_RUNTIME_DIR'];
  const tmp = join(tmpdir(), `procsafe-${uid}`);
  const fallbacks = Array.from({ length: kFallbacks }, (_, i) => `${tmp}-${i + 1}`);
  return [...(base ? [join(base, 'procsafe')] : []), tmp, ...fallbacks];
}

// The first candidate that is ours (created 0700 if missing). Every process of the user finds the same one, so
// `procsafe status` sees every owner and cleans up after dead ones. Throws what stopped a creation (ENOSPC, EACCES).
export function runtimeDir(): string {
  if (cached !== undefined) return cached;
  let planted: string | undefined;
  for (const dir of runtimeDirCandidates()) {
    if (privateDir(dir) === undefined) {
      planted ??= dir;
      continue;
    }
    if (planted !== undefined) warnPlanted(planted, dir);
    return cached = dir;
  }
  // Every name taken by someone else: a private directory still works, but status cannot find it.
  const fresh = mkdtempSync(join(tmpdir(), `procsafe-${process.getuid?.() ?? 0}-`));
  warnPlanted(planted as string, fresh);
  return cached = fresh;
}

function warnPlanted(planted: string, used: string): void {
  process.emitWarning(`procsafe: ${planted} belongs to another user or is open to others (planted?); using ${used} instead. ` +
    'Remove it, or set XDG_RUNTIME_DIR to a directory only you can enter', { code: 'PROCSAFE_RUNTIME_DIR' });
}

// Creates `dir` (0700) if missing; returns it only if it is a real directory of this user no one else can enter
// (a directory someone else planted is never used).
export function privateDir(dir: string): string | undefined {
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  const stat = lstatSync(dir);
  const uid = process.getuid?.() ?? 0;
  return stat.isDirectory() && !stat.isSymbolicLink() && stat.uid === uid && (stat.mode & 0o777) === 0o700 ? dir : undefined;
}

/** A fresh socket path for one owner. Short: Linux caps socket paths at 107 bytes. */
export function newSocketPath(): string {
  return join(runtimeDir(), `${process.pid}-${randomBytes(6).toString('hex')}.sock`);
}
