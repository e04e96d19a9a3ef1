/**
 * A Queue whose state lives in Redis (lists + Lua: scripts/*-7.lua, README "Redis backend"), shared by every handle with
 * the same URL and name on any machine. Each call is one script, atomic on the server: capacity is checked and taken in
 * the same step, so no client, dead or alive, leaks it. Items handed to a reader are leased; the lease is renewed from the
 * lease thread, and a lease that lapses sends the item back, with the same id, to the next reader. Ack and taskDone carry
 * the lease's token and are refused once it lapsed.
 */
import { randomBytes } from 'node:crypto';
import { emitWarning } from 'node:process';
import type { HandleKind, RedisHandle } from '../codec/handles.js';
import { LeaseLost } from '../errors.js';
import { CancelGroup, type RequestOptions, type WaitOptions } from '../internal/wait.js';
import type { Delivery, DeliveryReceiver, QueueBackend, QueueStats, ReadAheadGets } from '../queue/backend.js';
import type { QueueSnapshot } from '../queue/state-types.js';
import { RedisConnection } from './connection.js';
import { leaseThread } from './lease-thread.js';
import { queueKeys, wakeChannel } from './queue-handle.js';
import { until, Wakeups } from './wakeups.js';
import { itemQuarantined, queueClosed, queueEmpty, queueFull, queueLeft } from '../queue/refusals.js';

type GetReply = [Buffer, Buffer?, (Buffer | number)?, number?, Buffer?];
type StatsReply = [number, number, number, number, string, number, string, number];

export class RedisQueueBackend implements QueueBackend {
  readonly #info: RedisHandle;
  readonly #kind: HandleKind;
  readonly #joinable: boolean;
  readonly #connection: RedisConnection;
  readonly #keys: string[];
  readonly #wakeups: Wakeups;
  /** init.lua's answer: the queue exists with settings that agree with this handle's (else a RangeError, on every call). */
  readonly #ready: Promise<void>;
  readonly #clientId = randomBytes(6).toString('base64url');
  #nextId = 0;
  /** Leases this process holds: token → id (received, and for a JoinableQueue, not yet taskDone). */
  readonly #held = new Map<string, string>();
  #left = false;
  #maxsize: number;

  constructor(kind: HandleKind, info: RedisHandle, maxsize: number | undefined) {
    this.#kind = kind;
    this.#joinable = kind === 'joinable-queue';
    this.#info = info;
    this.#maxsize = maxsize ?? 0;
    this.#connection = RedisConnection.for(info.url, info.redisTimeoutMs);
    this.#keys = queueKeys(info.name, this.#clientId);
    // A quarter lease: a dead holder's items are taken back within 1.25 x leaseMs even if no message comes.
    this.#wakeups = new Wakeups(this.#connection, wakeChannel(info.name), Math.max(10, Math.floor(info.leaseMs / 4)));
    this.#ready = this.#connection.script<[string, string]>('init', this.#keys, [maxsize ?? '', kind]).then(([size, own]) => {
      const theirs = Number(size);
      if (maxsize !== undefined && theirs !== maxsize) {
        throw new RangeError(`the Redis queue "${info.name}" exists with maxsize ${theirs}, but this handle asked for maxsize ` +
          `${maxsize}; give the same maxsize (or none, to take the queue's), or use another name`);
      }
      if (own !== kind) {
        throw new TypeError(`the Redis queue "${info.name}" exists as a ${own}, not a ${kind}; use a ${own} or another name`);
      }
      this.#maxsize = theirs;
    });
    this.#ready.catch(() => {});
  }

  get maxsize(): number { return this.#maxsize; }

  async put(item: readonly Buffer[], options: RequestOptions): Promise<void> {
    if (this.#left) throw queueLeft();
    await this.#ready;
    const id = `${this.#clientId}.${(this.#nextId++).toString(36)}`;
    const payload = item.length === 1 ? item[0] as Buffer : Buffer.concat(item);
    const joinable = this.#joinable ? '1' : '0';
    await until(this.#wakeups, options, {
      run: async () => {
        const accepted = await this.#connection.script<number>('put', this.#keys, [id, payload, joinable]);
        if (accepted === -1) throw queueClosed('put');
        return accepted === 1 ? true : undefined;
      },
      onTimeout: () => queueFull(options.timeoutMs),
      stopped: () => (this.#left ? queueLeft() : undefined),
    });
  }

  async get(options: RequestOptions): Promise<Delivery> {
    if (this.#left) throw queueLeft();
    leaseThread.warm(this.#info.url, this.#info.redisTimeoutMs);
    await this.#ready;
    return until(this.#wakeups, options, {
      run: () => this.#tryGet(),
      onTimeout: () => queueEmpty(options.timeoutMs),
      stopped: () => (this.#left ? queueLeft() : undefined),
      giveBack: (delivery) => this.release([delivery]),
    });
  }

  async #tryGet(): Promise<Delivery | undefined> {
    const reply = await this.#connection.run((client, scripts, retry) =>
      scripts.run(client, 'get', this.#keys, [this.#info.leaseMs, retry ? '1' : '0'], true)) as GetReply;
    const status = Number(reply[0].toString());
    if (status === -1) throw queueClosed('get');
    if (status === -2) throw itemQuarantined((reply[1] as Buffer).toString(), Number(reply[2]));
    if (status === 0) return undefined;
    const id = (reply[1] as Buffer).toString();
    const token = (reply[4] as Buffer).toString();
    this.#hold(token, id);
    return { id, token, deliveries: Number(reply[3]), payload: reply[2] as Buffer };
  }

  readAhead(receiver: DeliveryReceiver): ReadAheadGets {
    const group = new CancelGroup();
    return {
      request: () => {
        this.get({ group }).then((delivery) => receiver.delivered(delivery), (error: unknown) => receiver.failed(error as Error));
      },
      cancelAll: () => group.cancel(),
    };
  }

  ack({ id, token }: Pick<Delivery, 'id' | 'token'>): Promise<void> {
    if (this.#left) throw queueLeft();
    return this.#connection.script<number>('ack', this.#keys, [token, this.#joinable ? '1' : '0']).then((done) => {
      if (!this.#joinable) this.#drop(token);
      if (done === 1) return;
      this.#drop(token);
      throw new LeaseLost(`the lease on item ${id} of the Redis queue "${this.#info.name}" lapsed before it was handed over ` +
        `(it was not renewed for leaseMs = ${this.#info.leaseMs}: Redis unreachable, or this process cut off), so it went ` +
        'to another reader; nothing is lost: get again');
    });
  }

  release(deliveries: readonly Pick<Delivery, 'id' | 'token'>[]): void {
    if (deliveries.length === 0 || this.#left) return;
    const tokens = deliveries.map(({ token }) => token);
    for (const token of tokens) this.#drop(token);
    this.#connection.script('release', this.#keys, tokens).catch(warnLost('give back read-ahead items'));
  }

  taskDone(id: string, token: string): void {
    if (this.#left) throw queueLeft();
    if (token !== '') this.#drop(token);
    this.#connection.script<number>('task-done', this.#keys, [id, token]).then((left) => {
      if (left === -1) {
        emitWarning(`procsafe: taskDone(${JSON.stringify(id)}) on the Redis queue "${this.#info.name}" was refused: the item ` +
          'is not held under a live lease (its lease lapsed and it went to another reader, or it was finished already); it ' +
          'stays owed until its current reader finishes it');
      }
    }, warnLost(`mark item ${id} done`));
  }

  async join(options: WaitOptions): Promise<void> {
    if (this.#left) throw queueLeft();
    await this.#ready;
    await until(this.#wakeups, { signal: options.signal }, {
      run: async () => ((await this.#stats())[5] <= 0 ? true : undefined),
      onTimeout: () => new Error('unreachable: join() has no timeout'),
      stopped: () => (this.#left ? queueLeft() : undefined),
    });
  }

  async close(immediate: boolean): Promise<void> {
    if (this.#left) throw queueLeft();
    await this.#ready;
    await this.#connection.script('close', this.#keys, [immediate ? 'immediate' : 'drain']);
  }

  /** Gives back every item this process holds, stops its waiting calls (QueueClosed), and lets go of the connection. */
  async disconnect(): Promise<void> {
    if (this.#left) return;
    this.#left = true;
    this.#wakeups.stop();
    const tokens = [...this.#held.keys()];
    for (const token of tokens) this.#drop(token);
    try {
      if (tokens.length > 0) await this.#connection.script('release', this.#keys, tokens);
    } finally {
      this.#connection.release();
    }
  }

  async stats(): Promise<QueueStats> {
    if (this.#left) throw queueLeft();
    const [qsize, unacked, , maxsize, closedHow] = await this.#stats();
    return { qsize, full: maxsize > 0 && qsize + unacked >= maxsize, closed: closedHow !== '' };
  }

  /** The counts Redis keeps; what only a local owner knows (its clients, waiting calls, totals) is empty or 0. */
  async inspect(): Promise<QueueSnapshot> {
    if (this.#left) throw queueLeft();
    const [qsize, unacked, leased, maxsize, closedHow, unfinished, , quarantined] = await this.#stats();
    return {
      kind: this.#joinable ? 'joinable-queue' : 'queue', maxsize, closed: closedHow !== '', qsize, leased: unacked,
      acked: leased - unacked, unfinished: this.#joinable ? unfinished : 0, full: maxsize > 0 && qsize + unacked >= maxsize,
      accepted: 0, consumed: 0, redeliveries: 0, quarantined, untold: 0, dropped: 0, clients: [], puts: [], gets: [], joins: [],
    };
  }

  async #stats(): Promise<StatsReply> {
    await this.#ready;
    const reply = await this.#connection.script<StatsReply>('stats', this.#keys, []);
    return reply.map((value, i) => (i === 4 || i === 6 ? String(value) : Number(value))) as StatsReply;
  }

  #hold(token: string, id: string): void {
    this.#held.set(token, id);
    const { url, redisTimeoutMs, leaseMs } = this.#info;
    leaseThread.add({ url, redisTimeoutMs, key: this.#keys[4] as string, member: token, leaseMs });
  }

  #drop(token: string): void {
    if (!this.#held.delete(token)) return;
    const { url, redisTimeoutMs } = this.#info;
    leaseThread.remove({ url, redisTimeoutMs, key: this.#keys[4] as string, member: token });
  }

  get kind(): HandleKind { return this.#kind; }
}

/** For calls nobody awaits (release, taskDone): a failure is said, not thrown into the void. */
function warnLost(what: string): (error: unknown) => void {
  return (error) => emitWarning(`procsafe: could not ${what} on Redis: ${(error as Error).message}`);
}

