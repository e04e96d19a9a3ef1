/**
 * What the demo's parent and its worker and process modules share: a clock
 * comparable across processes, and the wait a victim is killed in.
 */

/** Wall-clock ms with sub-ms precision, comparable across processes (all read the same timeOrigin-based clock). */
export function now(): number {
  return performance.timeOrigin + performance.now();
}

/** Never settles, and keeps the process alive: the demo kills it (SIGKILL) from outside. */
export function hangForever(): Promise<never> {
  return new Promise<never>(() => { setInterval(() => {}, 1 << 30); });
}
