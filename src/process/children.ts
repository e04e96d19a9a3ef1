// The Processes this process started and that have not ended, for activeChildren(). A Process joins at start() and
// leaves once its end is reported, so a finished one is never held here.
import type { Process } from './process.js';

const running = new Set<Process>();

export function trackChild(child: Process): void {
  running.add(child);
}

export function untrackChild(child: Process): void {
  running.delete(child);
}

/**
 * The Processes this process started that are still alive, in start order (Python's `active_children()`). Pool
 * workers are not among them: the pool owns and stops them.
 */
export function activeChildren(): Process[] {
  // isAlive turns false at the exit, a moment before the end (the last output) is reported.
  return [...running].filter((child) => child.isAlive);
}
