/**
 * Where owners listen: Unix sockets in a per-user directory only its user can
 * enter (0700), so no other user can even reach the socket; the object's secret
 * then proves a peer was handed the object (see auth.ts).
 */
import { randomBytes } from 'node:crypto';
import { lstatSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let cached: string | undefined;

/**
 * The per-user runtime directory: $XDG_RUNTIME_DIR/procsafe, or <tmp>/procsafe-<uid>.
 * If it exists but is not ours or not 0700 (someone planted it), a private fresh
 * directory is used instead.
 */
export function runtimeDir(): string {
  if (cached !== undefined) return cached;
  const uid = process.getuid?.() ?? 0;
  const base = process.env['XDG_RUNTIME_DIR'];
  cached = privateDir(base ? join(base, 'procsafe') : join(tmpdir(), `procsafe-${uid}`))
    ?? mkdtempSync(join(tmpdir(), `procsafe-${uid}-`));
  return cached;
}

/**
 * Creates `dir` (0700) if it does not exist, and returns it if it is a real
 * directory of this user that no one else can enter; undefined otherwise (a
 * directory someone else planted there is never used).
 */
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
