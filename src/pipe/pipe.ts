/**
 * Pipe, as Python's multiprocessing.Pipe: two ends, each a handle that travels to a Process or a task as a queue does.
 * Both ends' state lives at the creating process's owner (broker/adapters/pipe.ts) as two one-way queues, so a message
 * whose send resolved survives its reader dying inside recv (the next recv on that end gets it).
 */
import { inspect as utilInspect } from 'node:util';
import { type Handle, kHandleKey, kShareable, registerHandleKind } from '../codec/handles.js';
import { decodeItem, encodeItem } from '../codec/item.js';
import { totalLength } from '../internal/chunks.js';
import { linkFor, validateWait, type WaitOptions } from '../broker/link.js';
import { createObject } from '../broker/owner.js';
import { describeHandle } from '../broker/shareable.js';
import { kRequest } from '../broker/protocol.js';
import { encodeHead } from '../transport/frame.js';
import { PipeClosed, PipeDirectionError, QueueClosed, QueueEmpty, SerializationError } from '../errors.js';
import { validateKnownKeys, validateObject } from '../internal/validate.js';
import { LocalQueueBackend } from '../queue/local-backend.js';
import type { Delivery } from '../queue/backend.js';

export interface PipeOptions {
  /** Both ends send and receive; with false, the first end only receives and the second only sends. @default true */
  readonly duplex?: boolean;
}

export interface PipePollOptions {
  /** How long to wait for a message; without it, poll answers at once (as Python's `poll()`). */
  readonly timeoutMs?: number;
}

const kMaxMessageBytes = 256 * 1024 * 1024;

/** One end of a Pipe. Made by `Pipe()`, or by a handle arriving in another process. */
export class PipeEnd<T = unknown> {
  readonly #handle: Handle;
  readonly #backend: LocalQueueBackend;
  /** This copy is the creating process's own, which the owner counts as a holder until it is closed. */
  readonly #creator: boolean;
  #closed = false;
  /** This copy was serialized (to a Process, a task, a queue): it may be on its way to a process that does not hold it yet. */
  #sentAway = false;

  /** @internal Use `Pipe()`. */
  constructor(handle: Handle, creator: boolean) {
    this.#handle = handle;
    this.#creator = creator;
    this.#backend = new LocalQueueBackend(handle);
    // A getter, so that the copy being serialized (v8 reads it) is known to be on its way somewhere.
    Object.defineProperty(this, kHandleKey, {
      get: () => { this.#sentAway = true; return handle; }, enumerable: true,
    });
    // Every copy that arrives says so at once, so the owner counts it before the creator's copy may be closed.
    if (!creator) linkFor(handle).send(handle, [encodeHead(kRequest.PipeHold, 0, handle.object, 0)]);
  }

  get #canSend(): boolean { return (this.#handle.size & 2) !== 0 || (this.#handle.size & 1) === 1; }
  get #canRecv(): boolean { return (this.#handle.size & 2) !== 0 || (this.#handle.size & 1) === 0; }

  /** Resolves once the owner holds the message. Rejects PipeClosed once the other end is closed. */
  send(value: T): Promise<void> {
    this.#usable('send', this.#canSend);
    const chunks = this.#serialize(value);
    return this.#backend.put(chunks, {}).catch((error: unknown) => { throw closedAs(error, 'send'); });
  }

  /** The next message. Rejects PipeClosed once the other end is closed and nothing is left, QueueEmpty on timeout. */
  async recv(options?: WaitOptions): Promise<T> {
    this.#usable('recv', this.#canRecv);
    const wait = validateWait(options, 'recv()');
    let delivery: Delivery;
    try {
      delivery = await this.#backend.get(wait);
    } catch (error) {
      if (error instanceof QueueEmpty) {
        throw new QueueEmpty(wait.timeoutMs === 0 ? 'no message was waiting' : `no message arrived within ${wait.timeoutMs} ms`);
      }
      throw closedAs(error, 'recv');
    }
    return this.#hand(delivery);
  }

  /** Whether a message is waiting (false once the other end is closed and nothing is left: recv then rejects PipeClosed). */
  async poll(options?: PipePollOptions): Promise<boolean> {
    this.#usable('poll', this.#canRecv);
    const { timeoutMs } = validateWait(options, 'poll()', ['timeoutMs']);
    try {
      if (timeoutMs === undefined || timeoutMs <= 0) return (await this.#backend.stats()).qsize > 0;
      // Waiting for a message means leasing it: it goes straight back to the front, unread.
      const delivery = await this.#backend.get({ timeoutMs });
      this.#backend.release([delivery]);
      return true;
    } catch (error) {
      if (error instanceof QueueEmpty || error instanceof QueueClosed) return false;
      throw error;
    }
  }

  /**
   * This copy lets go of the end. Once every process holding it closed it or died, the other end's recv drains what
   * was sent and then rejects PipeClosed.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const { object } = this.#handle;
    const payload = Buffer.from([this.#creator ? 1 : 0, this.#sentAway ? 1 : 0]);
    linkFor(this.#handle).send(this.#handle, [encodeHead(kRequest.PipeClose, 0, object, 2, 0), payload]);
  }

  [utilInspect.custom](): string {
    return `PipeEnd { ${describeHandle(this.#handle)}, end: ${(this.#handle.size & 1) === 0 ? 'a' : 'b'} }`;
  }

  #usable(call: string, allowed: boolean): void {
    if (this.#closed) throw new PipeClosed(`${call}() on a pipe end this process closed; use an end it still holds`);
    if (!allowed) {
      throw new PipeDirectionError(`${call}() on the ${call === 'send' ? 'receive' : 'send'}-only end of a one-way pipe ` +
        '(Pipe({ duplex: false }) gives [receiver, sender]); use the other end, or create the pipe with duplex: true');
    }
  }

  #serialize(value: unknown): Buffer[] {
    const chunks = encodeItem(value, 'message', 'the pipe message');
    const length = totalLength(chunks);
    if (length > this.#handle.maxMessageBytes) {
      throw new SerializationError(`the message is ${length} bytes serialized, over a pipe's limit (${this.#handle.maxMessageBytes}); ` +
        'send it in parts', 'message');
    }
    return chunks;
  }

  /** Acked before user code sees it, as a queue item: from then on, a death here cannot make it come again. */
  async #hand(delivery: Delivery): Promise<T> {
    let value: T;
    try {
      const payload = typeof delivery.payload === 'function' ? delivery.payload() : delivery.payload;
      value = decodeItem(payload) as T;
    } catch (error) {
      void this.#backend.ack(delivery);
      const why = (error as Error).message;
      throw new SerializationError(`a message could not be read (${why}); it was dropped`, 'message', { cause: error });
    }
    await this.#backend.ack(delivery);
    return value;
  }
}

Object.defineProperty(PipeEnd.prototype, kShareable, { value: true });
registerHandleKind(['pipe'], (handle) => new PipeEnd(handle, false));

/** Two connected ends; with `duplex: false`, the first only receives and the second only sends (as Python's Pipe). */
export function Pipe<T = unknown>(options: PipeOptions = {}): [PipeEnd<T>, PipeEnd<T>] {
  validateObject(options, 'Pipe options');
  validateKnownKeys(options as Record<string, unknown>, 'Pipe options', ['duplex']);
  const { duplex = true } = options;
  if (typeof duplex !== 'boolean') throw new TypeError(`Expected \`duplex\` to be a boolean, got ${typeof duplex}`);
  // Consecutive objects, A first: the owner pairs them by id (broker/adapters/pipe.ts).
  const flags = duplex ? 2 : 0;
  const a = createObject('pipe', flags, kMaxMessageBytes);
  const b = createObject('pipe', flags | 1, kMaxMessageBytes);
  return [new PipeEnd<T>(a, true), new PipeEnd<T>(b, true)];
}

function closedAs(error: unknown, call: 'send' | 'recv'): unknown {
  if (!(error instanceof QueueClosed)) return error;
  return new PipeClosed(call === 'recv'
    ? 'the other end of the pipe was closed (or every process holding it died) and nothing is left to read; no more messages will come'
    : 'the other end of the pipe was closed (or every process holding it died); nobody will read this message, which was not sent');
}
