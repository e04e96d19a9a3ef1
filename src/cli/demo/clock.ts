/** Shared by the demo's parent and its worker and child modules. */

/** Wall-clock ms with sub-ms precision, comparable across processes (all read the same timeOrigin-based clock). */
export function now(): number {
  return performance.timeOrigin + performance.now();
}

/** Never settles, and keeps the process alive: the demo kills it (SIGKILL) from outside. */
export function hangForever(): Promise<never> {
  return new Promise<never>(() => { setInterval(() => {}, 1 << 30); });
}
