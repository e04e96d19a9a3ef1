/** QueueState's checks of its options and of each request, and the refusal they throw. */
import { type ClientId, InvalidRequest } from '../internal/owner-state.js';
import { validateInteger, validateKnownKeys, validateObject, validateString } from '../internal/validate.js';
import type { Held } from './books.js';
import type { FileItem, Payload, QueueStateOptions } from './state-types.js';

/** `not-unfinished` is Python's "task_done() called too many times"; `not-joinable`, `taskDone` on a plain Queue. */
export class InvalidQueueRequest extends InvalidRequest<'not-leased' | 'not-unfinished' | 'not-joinable'> {
  static override readonly code: string = 'EINVALIDQUEUEREQUEST';
}

export interface ResolvedOptions {
  readonly maxsize: number;
  readonly joinable: boolean;
  readonly queueId: string;
  readonly onDrop: ((item: Payload) => void) | undefined;
}

export function resolveQueueOptions(options: QueueStateOptions): ResolvedOptions {
  validateObject(options, 'options');
  validateKnownKeys(options as Record<string, unknown>, 'queue options', ['maxsize', 'joinable', 'queueId', 'onDrop']);
  const { maxsize = 0, joinable = false, queueId = 'q', onDrop } = options;
  if (onDrop !== undefined && typeof onDrop !== 'function') {
    throw new TypeError(`Expected \`onDrop\` to be a function, got ${String(onDrop)}`);
  }
  validateInteger(maxsize, 'maxsize', 0);
  if (typeof joinable !== 'boolean') throw new TypeError(`Expected \`joinable\` to be a boolean, got ${String(joinable)}`);
  validateString(queueId, 'queueId');
  return { maxsize, joinable, queueId, onDrop };
}

/** The broker's ids are trusted but checked: a reused requestId would lose one answer. */
export function validateRequest(client: unknown, requestId: unknown, parked: readonly ReadonlyMap<number, unknown>[]): void {
  validateInteger(client, 'client', 0);
  validateInteger(requestId, 'requestId', 0);
  if (parked.some((waiters) => waiters.has(requestId))) {
    throw new Error(`queue: requestId ${requestId} is already waiting; the broker must give every pending request its own id`);
  }
}

export function validatePayload(item: unknown): asserts item is Payload {
  if (!isPayload(item)) {
    throw new TypeError('Expected `item` to be a Buffer, an array of Buffers in order (a serialized value), or a { file, length }');
  }
}

function isPayload(item: unknown): item is Payload {
  if (item instanceof Uint8Array) return true;
  if (Array.isArray(item)) return item.every((piece) => piece instanceof Uint8Array);
  if (typeof item !== 'object' || item === null) return false;
  const { file, length } = item as Partial<FileItem>;
  return typeof file === 'string' && Number.isSafeInteger(length);
}

/** @throws InvalidQueueRequest when `client` does not hold `id` leased and not yet acked. */
export function leaseOf(out: ReadonlyMap<string, Held>, client: ClientId, id: string, what: string): Held {
  validateInteger(client, 'client', 0);
  validateString(id, 'id');
  const held = out.get(id);
  if (held === undefined || held.owner !== client || held.acked) {
    const why = held === undefined ? 'it is not leased by anyone'
      : held.owner !== client ? `it is leased by client ${held.owner}` : 'it was acked already';
    throw new InvalidQueueRequest(`${what} of item ${id} by client ${client}: ${why}`, 'not-leased');
  }
  return held;
}
