/** Whether another process's pid exists and, on Linux, its state and start time: a zombie or a reused pid is not the one we knew. */
import { readFileSync } from 'node:fs';

/** Whether a process with `pid` exists (EPERM: it does, but belongs to another user). */
export function pidExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Fields 3 (state) and 22 (start time, in clock ticks since boot) of /proc/<pid>/stat; undefined if no /proc or no such process. */
export function procStat(pid: number): { readonly state: string; readonly startTime: string } | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The fields after the command name, which may hold spaces and parentheses; state is field 3.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { state: fields[0] ?? '', startTime: fields[19] ?? '' };
}

/** Whether a process we recorded still runs; `startTime` from procStat when we recorded it, if known. */
export function processAlive(pid: number, startTime: string | null): boolean {
  if (!pidExists(pid)) return false;
  const stat = procStat(pid);
  if (stat === undefined) return true; // no /proc (not Linux): trust the signal
  if (startTime !== null && stat.startTime !== startTime) return false;
  // A killed process its parent has not reaped yet (a zombie) still answers signal 0: it is dead all the same.
  return stat.state !== 'Z';
}
