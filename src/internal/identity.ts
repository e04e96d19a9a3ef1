/** This process's Process name, set by the child runtime and read by `procsafe status`; apart so a child need not load the registry. */
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
