// What one owner gives its peers, so that no peer (nor a flood) can take its fds or memory. Sized as Redis sizes
// maxclients: from the soft limit on open files, less room for the owner's own (its app's, spills, workers' pipes).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Redis's default maxclients: past it a connection costs more memory than fds are worth. */
const kMostPeers = 10_000;
const kUnknownFdLimit = 1024;
/** Unread answers a peer may leave before it is cut off, at the least (see Connection.limitUnread). */
export const kUnreadBytes = 64 * 1024 * 1024;
/** Unread writes (each costs the owner its bookkeeping, however small): a flood of tiny answers. */
export const kUnreadWrites = 64 * 1024;

export interface PeerLimits {
  readonly fdLimit: number;
  /** Connections that have not proven a secret yet; a new one beyond that evicts the oldest. */
  readonly unproven: number;
  /** Proven peers of the objects; one more is refused. */
  readonly proven: number;
  /** Slots for `procsafe status` readers, which no other peer can take; a new one beyond evicts the oldest. */
  readonly reserved: number;
}

// connections = min(10000, fds - max(64, fds / 4)), at least 16: a quarter (at most 128) for peers still in the
// handshake, 2 for status, the rest for proven peers.
export function peerLimits(fdLimit = softFdLimit()): PeerLimits {
  const total = Math.max(16, Math.min(kMostPeers, fdLimit - Math.max(64, Math.floor(fdLimit / 4))));
  const unproven = Math.max(4, Math.min(128, Math.floor(total / 4)));
  const reserved = 2;
  return { fdLimit, unproven, reserved, proven: total - unproven - reserved };
}

/** The soft RLIMIT_NOFILE: from /proc on Linux, else from `ulimit -n` in a shell (once per owner). */
export function softFdLimit(): number {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
    const soft = line?.slice('Max open files'.length).trim().split(/\s+/)[0];
    if (soft !== undefined) return parseLimit(soft);
  } catch {
    // not Linux
  }
  try {
    return parseLimit(execFileSync('/bin/sh', ['-c', 'ulimit -n'], { encoding: 'utf8', timeout: 2_000 }).trim());
  } catch {
    return kUnknownFdLimit;
  }
}

function parseLimit(text: string): number {
  if (text === 'unlimited') return Number.MAX_SAFE_INTEGER;
  const n = Number(text);
  return Number.isSafeInteger(n) && n > 0 ? n : kUnknownFdLimit;
}
