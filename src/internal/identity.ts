/**
 * Who this process is, as procsafe names it: set once by the child runtime when
 * it becomes a Process (its `name`), read by whatever reports on the process
 * (`procsafe status`). Kept apart so a child learns its name without loading
 * the status registry.
 */
let processName: string | null = null;
const listeners: Array<(name: string) => void> = [];

export function ownName(): string | null {
  return processName;
}

export function setOwnName(name: string): void {
  processName = name;
  for (const listener of listeners) listener(name);
}

/** Calls `listener` whenever the name is set later (the registry rewrites its entry). */
export function onOwnName(listener: (name: string) => void): void {
  listeners.push(listener);
}
