// What a parent tells each child it starts about itself (internal/identity.ts's ParentRecord); apart from identity.ts,
// which every child loads, so that only a process that starts others reads /proc for it.
import { ownName, type ParentRecord } from './identity.js';
import { procStat } from './proc.js';

let ownStartTime: string | null | undefined;

/** This process as the children it starts will know it. */
export function asParent(): ParentRecord {
  // Read once: a process's start time never changes.
  if (ownStartTime === undefined) ownStartTime = procStat(process.pid)?.startTime ?? null;
  return { name: ownName() ?? 'MainProcess', pid: process.pid, startTime: ownStartTime };
}
