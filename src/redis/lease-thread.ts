/**
 * Leases are renewed from a worker thread with its own Redis connection (lease-worker.ts), never from the user's event
 * loop: a CPU-bound task or a reader blocked in synchronous code keeps what it holds. Generic: a lease is a member of a
 * sorted set whose score is its expiry, set by whoever took it (a Lua script, with the server's clock); this thread
 * keeps pushing that expiry `leaseMs` ahead, every `leaseMs / 3`, until the lease is removed or found lost.
 */
import { Worker } from 'node:worker_threads';

export interface Lease {
  /** The Redis URL, as given to the object holding the lease. */
  readonly url: string;
  readonly redisTimeoutMs: number;
  /** The sorted set holding the lease; its members' scores are expiries in the server's ms. */
  readonly key: string;
  readonly member: string;
  readonly leaseMs: number;
}

export type LeaseMessage =
  | { readonly type: 'warm'; readonly url: string; readonly redisTimeoutMs: number }
  | { readonly type: 'add'; readonly lease: Lease }
  | { readonly type: 'remove'; readonly url: string; readonly redisTimeoutMs: number; readonly key: string; readonly member: string };

export type LeaseReport = { readonly type: 'lost'; readonly key: string; readonly member: string };

const idOf = (key: string, member: string): string => `${key}\u0000${member}`;

/** This thread's side: registers leases with the one renewing thread of the process, started on the first lease. */
class LeaseThread {
  #worker: Worker | undefined;
  readonly #lost = new Map<string, () => void>();

  /**
   * Starts the thread and its connection ahead of the first lease (a reader calls it before its first get): booting a
   * thread and loading ioredis there can take longer than a short lease under load.
   */
  warm(url: string, redisTimeoutMs: number): void {
    if (this.#worker === undefined) this.#post({ type: 'warm', url, redisTimeoutMs });
  }

  add(lease: Lease, onLost?: () => void): void {
    if (onLost !== undefined) this.#lost.set(idOf(lease.key, lease.member), onLost);
    this.#post({ type: 'add', lease });
  }

  remove(lease: Pick<Lease, 'url' | 'redisTimeoutMs' | 'key' | 'member'>): void {
    this.#lost.delete(idOf(lease.key, lease.member));
    if (this.#worker === undefined) return;
    this.#post({ type: 'remove', url: lease.url, redisTimeoutMs: lease.redisTimeoutMs, key: lease.key, member: lease.member });
  }

  #post(message: LeaseMessage): void {
    this.#start().postMessage(message);
  }

  #start(): Worker {
    if (this.#worker !== undefined) return this.#worker;
    const worker = new Worker(new URL('./lease-worker.js', import.meta.url));
    worker.on('message', (report: LeaseReport) => {
      const id = idOf(report.key, report.member);
      const onLost = this.#lost.get(id);
      this.#lost.delete(id);
      onLost?.();
    });
    worker.on('error', (error) => {
      // Leases would lapse silently: say so, and start a new thread for the next lease (this one's leases are re-sent).
      process.emitWarning(`procsafe: the lease-renewing thread failed (${error.message}); leases held now may lapse`);
      this.#worker = undefined;
    });
    // The thread never keeps the process alive: a process that is done with its work exits, and its leases lapse.
    // After the listeners: adding one refs the port again.
    worker.unref();
    this.#worker = worker;
    return worker;
  }
}

export const leaseThread = new LeaseThread();
