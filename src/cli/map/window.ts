/**
 * How much queued work (beyond one task per worker) may sit in the pool, in ms of
 * its recent throughput: enough to keep workers fed with tiny tasks, little enough
 * that the first Ctrl-C (which lets everything already handed over finish) is quick.
 */
const kQueuedWorkMs = 100;
const kMaxAheadPerWorker = 64;

/** Tasks handed to the pool and not yet answered: one running and at least one waiting per worker, plus kQueuedWorkMs of work. */
export class DispatchWindow {
  readonly #jobs: number;
  #cap: number;

  constructor(jobs: number) {
    this.#jobs = jobs;
    this.#cap = jobs * 2;
  }

  get cap(): number { return this.#cap; }

  /** Re-sizes the window every 250 ms from the count of results `written()`, until the returned function is called. */
  track(written: () => number): () => void {
    let last = performance.now();
    let lastWritten = written();
    const timer = setInterval(() => {
      const now = performance.now();
      const rate = ((written() - lastWritten) * 1000) / (now - last);
      last = now;
      lastWritten = written();
      const jobs = this.#jobs;
      const ahead = Math.min(jobs * kMaxAheadPerWorker, Math.max(jobs, Math.round((rate * kQueuedWorkMs) / 1000)));
      this.#cap = jobs + ahead;
    }, 250).unref();
    return () => clearInterval(timer);
  }
}
