/**
 * One Redis connection per URL per thread, shared by every Redis object there. ioredis is imported on first use only,
 * so a program that never passes `redis` never loads it. A call that meets an unreachable or loading server waits and
 * retries (with a flag, so a script whose first run may have happened can tell) until `redisTimeoutMs` has passed since
 * its first failure, then rejects BrokerLost. While no call is pending the sockets are unref'ed: an idle handle never
 * keeps a process alive.
 */
import { BrokerLost } from '../errors.js';
import { validateInteger } from '../internal/validate.js';
import { loadScripts, type ScriptName, type Scripts } from './scripts.js';

/** What ioredis we use: typed here, so the rest of procsafe never imports its types eagerly. */
export interface RedisClient {
  readonly status: string;
  readonly stream?: { ref(): void; unref(): void } | undefined;
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  once(event: string, listener: (...args: unknown[]) => void): unknown;
  off(event: string, listener: (...args: unknown[]) => void): unknown;
  defineCommand(name: string, definition: { numberOfKeys: number; lua: string }): void;
  call(command: string, ...args: (string | number | Buffer)[]): Promise<unknown>;
  subscribe(...channels: string[]): Promise<unknown>;
  unsubscribe(...channels: string[]): Promise<unknown>;
  disconnect(): void;
  quit(): Promise<unknown>;
  nodes?: (role?: string) => RedisClient[];
}

export const kDefaultRedisTimeoutMs = 30_000;
/** How long a connection no handle uses stays open for the next one. */
const kLingerMs = 2000;

export interface RedisTarget {
  readonly url: string;
  readonly tls: boolean;
  readonly host: string;
  readonly port: number;
  readonly db: number;
  readonly username: string | undefined;
  readonly password: string | undefined;
  /** `?cluster=yes` in the URL: use ioredis's Cluster client, the URL naming one node. */
  readonly cluster: boolean;
}

/** Checks and reads a `redis://` or `rediss://` URL (TLS), as users give it in the `redis` option. */
export function parseRedisUrl(url: unknown): RedisTarget {
  if (typeof url !== 'string') throw new TypeError(`Expected \`redis\` to be a redis:// or rediss:// URL, got ${typeof url}`);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TypeError(`Expected \`redis\` to be a redis:// or rediss:// URL, got ${JSON.stringify(url)}`);
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new TypeError(`Expected \`redis\` to be a redis:// or rediss:// URL, got the protocol ${parsed.protocol}`);
  }
  const dbText = parsed.pathname.replace(/^\//, '');
  const db = dbText === '' ? 0 : Number(dbText);
  if (!Number.isInteger(db) || db < 0) throw new TypeError(`Expected the database in \`redis\` (${url}) to be an integer >= 0`);
  const cluster = ['yes', 'true', '1'].includes(parsed.searchParams.get('cluster') ?? '');
  return {
    url,
    tls: parsed.protocol === 'rediss:',
    host: parsed.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1',
    port: parsed.port === '' ? 6379 : Number(parsed.port),
    db,
    username: parsed.username === '' ? undefined : decodeURIComponent(parsed.username),
    password: parsed.password === '' ? undefined : decodeURIComponent(parsed.password),
    cluster,
  };
}

export function validateRedisTimeout(value: unknown): number {
  if (value === undefined) return kDefaultRedisTimeoutMs;
  validateInteger(value, 'redisTimeoutMs', 1);
  return value;
}

type IoRedisModule = Pick<typeof import('ioredis'), 'Redis' | 'Cluster'>;
let ioredis: Promise<IoRedisModule> | undefined;

/** The one place ioredis is imported. */
function loadIoRedis(): Promise<IoRedisModule> {
  ioredis ??= import('ioredis').then(({ Redis, Cluster }) => ({ Redis, Cluster }), (error: unknown) => {
    ioredis = undefined;
    throw new Error('procsafe: the `redis` option needs the ioredis package, which could not be loaded; ' +
      `install it (npm install ioredis): ${(error as Error).message}`, { cause: error });
  });
  return ioredis;
}

/** Reconnects back off to at most 1 s between tries, so a restarted server is found soon. */
const retryStrategy = (times: number): number => Math.min(50 * times, 1000);

async function createClient(target: RedisTarget, role: string): Promise<RedisClient> {
  const { Redis, Cluster } = await loadIoRedis();
  const options = {
    connectionName: `procsafe-${role}-${process.pid}`,
    username: target.username,
    password: target.password,
    db: target.db,
    ...(target.tls ? { tls: { servername: target.host } } : {}),
    // Commands fail at once while disconnected, and those in flight at a drop fail too: run() below retries them
    // itself, with the flag that lets a script tell a second run; ioredis resending them blindly could apply one twice.
    enableOfflineQueue: false,
    autoResendUnfulfilledCommands: false,
    maxRetriesPerRequest: null,
    retryStrategy,
    enableAutoPipelining: true,
    lazyConnect: false,
    // Its INFO needs a permission a least-privilege ACL user lacks (README, "Deploying Redis"); a server still loading
    // its AOF answers LOADING instead, which run() waits through.
    enableReadyCheck: false,
  };
  if (target.cluster) {
    // A cluster has one database: `db` is not sent. The nodes' own connections keep an offline queue: the cluster client
    // asks a node for the slots before that node's connection is up, and would fail and back off each time without it.
    const redisOptions = { ...options, db: undefined, enableOfflineQueue: true };
    return new Cluster([{ host: target.host, port: target.port }], {
      redisOptions, clusterRetryStrategy: retryStrategy, enableOfflineQueue: false, enableAutoPipelining: true,
    }) as unknown as RedisClient;
  }
  return new Redis({ host: target.host, port: target.port, ...options });
}

/** Errors after which the same call may succeed: no connection, a server still loading its AOF, a cluster moving. */
export function isTransient(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (error.name === 'ReplyError') return /^(LOADING|BUSY|TRYAGAIN|CLUSTERDOWN|MASTERDOWN|READONLY)\b/.test(error.message);
  return /Connection is closed|Stream isn't writeable|Cluster isn't ready|Command aborted|ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|Failed to refresh slots|None of startup nodes/i
    .test(error.message) || error.name === 'MaxRetriesPerRequestError';
}

export class RedisConnection {
  readonly target: RedisTarget;
  readonly redisTimeoutMs: number;
  readonly #client: Promise<{ client: RedisClient; scripts: Scripts }>;
  #subscriber: Promise<RedisClient> | undefined;
  /** Rejects (a transient error) once the connection has been down for redisTimeoutMs; a new one after each such outage. */
  #outage = outage();
  #outageTimer: NodeJS.Timeout | undefined;
  readonly #channels = new Map<string, Set<() => void>>();
  #pending = 0;
  #users = 0;
  #idle: NodeJS.Timeout | undefined;
  #closed = false;

  private constructor(target: RedisTarget, redisTimeoutMs: number, role: string) {
    this.target = target;
    this.redisTimeoutMs = redisTimeoutMs;
    this.#client = (async () => {
      const client = await createClient(target, role);
      this.#watchSockets(client, () => this.#pending > 0);
      this.#watchOutage(client);
      const scripts = loadScripts(client);
      return { client, scripts };
    })();
    // A failure to load ioredis surfaces on the first call, not as an unhandled rejection here.
    this.#client.catch(() => {});
  }

  /** This thread's connection to `url` (one per URL and timeout); `release()` it when done. */
  static for(url: string, redisTimeoutMs = kDefaultRedisTimeoutMs, role = 'client'): RedisConnection {
    const key = `${role} ${redisTimeoutMs} ${url}`;
    let connection = connections.get(key);
    if (connection === undefined || connection.#closed) {
      connection = new RedisConnection(parseRedisUrl(url), redisTimeoutMs, role);
      connections.set(key, connection);
    }
    connection.#users++;
    clearTimeout(connection.#idle);
    return connection;
  }

  /**
   * Runs `op` (a script or a command), retrying while Redis is unreachable or loading; `retry` is true on every run
   * after one whose outcome is unknown. Rejects BrokerLost once `redisTimeoutMs` passed since the first failure.
   */
  async run<T>(op: (client: RedisClient, scripts: Scripts, retry: boolean) => Promise<T>): Promise<T> {
    this.#ref(1);
    try {
      const { client, scripts } = await this.#client;
      let firstFailure: number | undefined;
      let retry = false;
      for (let attempt = 0; ; attempt++) {
        try {
          // A command already written when the connection dropped is neither answered nor failed until a reconnect:
          // the outage bounds it.
          return await Promise.race([op(client, scripts, retry), this.#outage.promise]);
        } catch (error) {
          if (error instanceof OutageError) throw this.#lost(error);
          if (!isTransient(error)) throw error;
          retry = true;
          firstFailure ??= Date.now();
          const left = firstFailure + this.redisTimeoutMs - Date.now();
          if (left <= 0 || this.#closed) throw this.#lost(error as Error);
          await waitReady(client, Math.min(left, client.status === 'ready' ? Math.min(20 * (attempt + 1), 500) : left));
        }
      }
    } finally {
      this.#ref(-1);
    }
  }

  /** Runs one of the Lua scripts (scripts/*.lua) with its keys and arguments. */
  script<T = unknown>(name: ScriptName, keys: readonly string[], args: readonly (string | number | Buffer)[]): Promise<T> {
    return this.run((client, scripts, retry) => scripts.run(client, name, keys, [...args, retry ? '1' : '0']) as Promise<T>);
  }

  /** Calls `wake` on every message on `channel` until the returned function is called (pub/sub, a connection of its own). */
  listen(channel: string, wake: () => void): () => void {
    let wakes = this.#channels.get(channel);
    if (wakes === undefined) {
      wakes = new Set();
      this.#channels.set(channel, wakes);
      void this.#subscribe(channel);
    }
    wakes.add(wake);
    return () => {
      const set = this.#channels.get(channel);
      if (set === undefined || !set.delete(wake) || set.size > 0) return;
      this.#channels.delete(channel);
      void this.#subscriber?.then((sub) => sub.unsubscribe(channel)).catch(() => {});
    };
  }

  /** Subscribes once the subscriber is ready, trying again while the channel is wanted (callers poll meanwhile). */
  async #subscribe(channel: string): Promise<void> {
    const sub = await this.#subscriberClient().catch(() => undefined);
    if (sub === undefined) return;
    for (let attempt = 1; this.#channels.has(channel) && !this.#closed; attempt++) {
      try {
        if (sub.status !== 'ready') await waitReady(sub, 1000);
        // Once subscribed, ioredis subscribes again by itself after a reconnect (autoResubscribe).
        await sub.subscribe(channel);
        return;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, Math.min(50 * attempt, 1000)).unref());
      }
    }
  }

  #subscriberClient(): Promise<RedisClient> {
    this.#subscriber ??= (async () => {
      const sub = await createClient(this.target, 'wake');
      sub.on('message', (channel) => {
        for (const wake of this.#channels.get(channel as string) ?? []) wake();
      });
      this.#watchSockets(sub, () => this.#channels.size > 0 && this.#pending > 0);
      return sub;
    })();
    return this.#subscriber;
  }

  /** One user lets go; the last one closes the connections. */
  release(): void {
    if (--this.#users > 0) return;
    // Kept a moment for the next handle: a program that opens and lets go of handles in turn (or a Cluster, where a
    // connection costs a slots refresh) reuses it. The timer is unref'ed, and so are the idle sockets.
    this.#idle = setTimeout(() => this.#close(), kLingerMs);
    this.#idle.unref();
  }

  #close(): void {
    this.#closed = true;
    for (const [key, connection] of connections) if (connection === this) connections.delete(key);
    void this.#client.then(({ client }) => client.disconnect(), () => {});
    void this.#subscriber?.then((sub) => sub.disconnect(), () => {});
  }

  #lost(cause: Error): BrokerLost {
    return new BrokerLost(`Redis at ${redact(this.target.url)} was unreachable for ${this.redisTimeoutMs} ms ` +
      `(redisTimeoutMs): ${cause.message}; check that the server is up and reachable, or raise redisTimeoutMs`, { cause });
  }

  #ref(delta: number): void {
    const before = this.#pending;
    this.#pending += delta;
    if ((before === 0) === (this.#pending === 0)) return;
    void this.#client.then(({ client }) => setRef(client, this.#pending > 0), () => {});
    void this.#subscriber?.then((sub) => setRef(sub, this.#pending > 0), () => {});
  }

  /** Arms #outage's timer when the connection drops, disarms it when the connection is ready again. */
  #watchOutage(client: RedisClient): void {
    client.on('close', () => {
      if (this.#outageTimer !== undefined) return;
      this.#outageTimer = setTimeout(() => {
        this.#outage.reject(new OutageError(`the connection closed and did not come back within ${this.redisTimeoutMs} ms`));
      }, this.redisTimeoutMs);
      // Pending calls keep the process alive through ioredis's reconnect timer; this one never does.
      this.#outageTimer.unref();
    });
    client.on('ready', () => {
      clearTimeout(this.#outageTimer);
      this.#outageTimer = undefined;
      if (this.#outage.settled) this.#outage = outage();
    });
  }

  /** Keeps new sockets and reconnect timers unref'ed whenever `wanted()` says nothing waits on them. */
  #watchSockets(client: RedisClient, wanted: () => boolean): void {
    const apply = (): void => setRef(client, wanted());
    client.on('connect', apply);
    // A Cluster opens a connection per node as it learns of them, and one more for its pub/sub (started by 'ready').
    client.on('+node', (node) => (node as RedisClient).on('connect', apply));
    client.on('ready', () => {
      subscriberOf(client)?.on('connect', apply);
      apply();
    });
    client.on('reconnecting', () => {
      const timer = (client as unknown as { reconnectTimeout?: NodeJS.Timeout | null }).reconnectTimeout;
      if (!wanted()) timer?.unref();
    });
    // ioredis emits 'error' on every failed reconnect; run() reports what a caller needs.
    client.on('error', () => {});
    apply();
  }
}

const connections = new Map<string, RedisConnection>();

/** The connection stayed down for redisTimeoutMs: calls in flight or waiting give up at once (BrokerLost). */
class OutageError extends Error {}

interface Outage {
  readonly promise: Promise<never>;
  readonly reject: (error: Error) => void;
  readonly settled: boolean;
}

function outage(): Outage {
  let reject!: (error: Error) => void;
  let settled = false;
  const promise = new Promise<never>((_, fail) => {
    reject = (error) => {
      settled = true;
      fail(error);
    };
  });
  // Raced by every call; rejected with nobody racing, it must not count as unhandled.
  promise.catch(() => {});
  return { promise, reject, get settled() { return settled; } };
}

/** A Cluster client's own pub/sub connection (ioredis's ClusterSubscriber), which nodes() does not list. */
function subscriberOf(client: RedisClient): RedisClient | undefined {
  return (client as { subscriber?: { getInstance?: () => RedisClient | null } }).subscriber?.getInstance?.() ?? undefined;
}

function setRef(client: RedisClient, ref: boolean): void {
  const subscriber = subscriberOf(client);
  const clients = client.nodes === undefined ? [client] : [...client.nodes(), ...(subscriber === undefined ? [] : [subscriber])];
  for (const each of clients) {
    if (ref) each.stream?.ref();
    else each.stream?.unref();
  }
}

/** Resolves when `client` is ready, or after `ms` at most. */
function waitReady(client: RedisClient, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      client.off('ready', done);
      resolve();
    };
    const timer = setTimeout(done, Math.max(1, ms));
    if (client.status !== 'ready') client.on('ready', done);
  });
}

/** A URL for messages: never its password. */
export function redact(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
}
