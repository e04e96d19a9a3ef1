/**
 * What makes a Queue a Redis queue: its options (`redis`, `name`, `leaseMs`, `redisTimeoutMs`), its handle (the URL and
 * name travel, never a socket path), its keys, and the check that keeps local objects out of its items.
 */
import { type Handle, type HandleKind, isShareable, kHandleKey } from '../codec/handles.js';
import { SerializationError } from '../errors.js';
import { validateInteger } from '../internal/validate.js';
import { parseRedisUrl, validateRedisTimeout } from './connection.js';

export const kRedisQueueKeys = ['redis', 'name', 'leaseMs', 'redisTimeoutMs'] as const;
export const kDefaultLeaseMs = 10_000;

export interface RedisQueueOptions {
  readonly redis?: string;
  readonly name?: string;
  readonly leaseMs?: number;
  readonly redisTimeoutMs?: number;
}

/** A Redis queue's handle, from options already known to name one (`redis` given). */
export function redisQueueHandle(
  kind: HandleKind, options: RedisQueueOptions, maxsize: number | undefined, maxMessageBytes: number,
): Handle {
  const { redis, name, leaseMs = kDefaultLeaseMs } = options;
  parseRedisUrl(redis);
  validateRedisName(name);
  validateInteger(leaseMs, 'leaseMs', 30, 2 ** 31 - 1);
  const redisTimeoutMs = validateRedisTimeout(options.redisTimeoutMs);
  return {
    kind,
    path: `redis:${redis as string}`,
    pid: 0,
    object: name,
    secret: '',
    maxMessageBytes,
    size: maxsize ?? 0,
    redis: { url: redis as string, name, leaseMs, redisTimeoutMs, sized: maxsize !== undefined },
  };
}

/** Names are the `{…}` hash tag of every key of the object, so one name's keys share one Cluster slot. */
export function validateRedisName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || name === '' || name.length > 200 || /[{}\s]/.test(name)) {
    throw new TypeError('Expected `name` (needed with `redis`) to be a string of 1 to 200 characters without braces or spaces, ' +
      `got ${typeof name === 'string' ? JSON.stringify(name) : typeof name}`);
  }
}

/** The options a handle that arrived in another process is revived with. */
export function redisQueueOptionsOf(handle: Handle): RedisQueueOptions & { maxsize?: number; maxMessageBytes: number } {
  const info = handle.redis as NonNullable<Handle['redis']>;
  return {
    redis: info.url, name: info.name, leaseMs: info.leaseMs, redisTimeoutMs: info.redisTimeoutMs,
    maxMessageBytes: handle.maxMessageBytes, ...(info.sized ? { maxsize: handle.size } : {}),
  };
}

/** The keys of queue `name`, in the order lib.lua lists them; `recent` is this client's own. */
export function queueKeys(name: string, clientId: string): string[] {
  const prefix = `procsafe:{${name}}:`;
  return ['meta', 'ready', 'items', 'dlv', 'leases', 'unacked', `recent:${clientId}`].map((suffix) => prefix + suffix);
}

export function wakeChannel(name: string): string {
  return `procsafe:{${name}}:wake`;
}

/**
 * Refuses an item holding a local object (a Unix-socket queue, a lock, a SharedArray): no other machine could reach it.
 * Only objects and containers are walked; a Redis handle is fine.
 */
export function assertNoLocalHandles(value: unknown, path: string, seen = new Set<object>()): void {
  if (typeof value !== 'object' || value === null || ArrayBuffer.isView(value) || seen.has(value)) return;
  seen.add(value);
  if (isShareable(value)) {
    const handle = (value as Record<string, Handle | undefined>)[kHandleKey];
    if (handle?.redis === undefined) {
      throw new SerializationError(`${path} is a local ${handle?.kind ?? 'object'} (reached through a Unix socket of this ` +
        'machine), which no other machine could use; a Redis queue carries only values and Redis objects: pass a Queue ' +
        'created with `redis` and `name` instead', path);
    }
    return;
  }
  if (value instanceof Map) {
    let i = 0;
    for (const [key, item] of value) {
      assertNoLocalHandles(key, `${path}.<key ${i}>`, seen);
      assertNoLocalHandles(item, `${path}.get(${i})`, seen);
      i++;
    }
  } else if (value instanceof Set) {
    let i = 0;
    for (const item of value) assertNoLocalHandles(item, `${path}.<item ${i++}>`, seen);
  } else if (Array.isArray(value)) {
    value.forEach((item, i) => assertNoLocalHandles(item, `${path}[${i}]`, seen));
  } else {
    for (const key of Object.keys(value)) assertNoLocalHandles((value as Record<string, unknown>)[key], `${path}.${key}`, seen);
  }
}
