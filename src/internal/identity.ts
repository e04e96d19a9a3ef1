// Who this process is: its Process or pool-worker name and who started it, set by the child runtime from what its
// parent sent. Read by currentProcess()/parentProcess() and by `procsafe status`; apart so a child need not load the registry.

/** What a parent tells its child of itself; `startTime` (procStat's) tells it from a later process given the same pid. */
export interface ParentRecord {
  readonly name: string;
  readonly pid: number;
  readonly startTime: string | null;
}

export interface Identity {
  readonly name: string;
  readonly daemon: boolean;
  readonly parent: ParentRecord;
}

// On globalThis (one per thread), not in this module: a worker module may load its own copy of procsafe, and its
// currentProcess() must still see what the runtime's copy was told. It imports nothing: every child loads it.
const kIdentity = Symbol.for('procsafe.identity');
const holder = globalThis as { [kIdentity]?: Identity };
const listeners: Array<(name: string) => void> = [];

/** This process's name, or null in a main process (the status registry shows none then). */
export function ownName(): string | null {
  return holder[kIdentity]?.name ?? null;
}

/** Null in a main process: nothing of procsafe started it. */
export function ownIdentity(): Identity | null {
  return holder[kIdentity] ?? null;
}

export function setIdentity(value: Identity): void {
  holder[kIdentity] = value;
  for (const listener of listeners) listener(value.name);
}

/** Calls `listener` whenever the name is set later (the registry rewrites its entry). */
export function onOwnName(listener: (name: string) => void): void {
  listeners.push(listener);
}
