/**
 * A queue whose state lives in the broker of the process that created it,
 * reached over this thread's link to that owner (broker/link.ts).
 */
import type { Handle } from '../codec/handles.js';
import { linkFor, type Link, type RequestOptions, type WaitOptions, watchWait } from '../broker/link.js';
import { AbortError, QueueClosed, QueueEmpty, QueueFull } from '../errors.js';
import { encodeHead, encodeText, type Frame } from '../transport/frame.js';
import {
  kAck, kClose, kDelivered, kDone, kGet, kGetNowait, kInspect, kJoin, kPut, kPutNowait, kRefused, kRelease, kStats, kTaskDone,
} from '../transport/messages.js';
import type { Delivery, QueueBackend, QueueStats } from './backend.js';
import type { QueueSnapshot } from './state.js';

/**
 * Puts one client keeps unanswered at once. More wait here, in the producer's
 * memory: the owner holds at most this many parked puts per client, however
 * fast a producer streams into a full queue.
 */
const kPutWindow = 1024;

export class LocalQueueBackend implements QueueBackend {
  readonly #handle: Handle;
  readonly #link: Link;
  #inFlight = 0;
  readonly #waiting: (() => void)[] = [];

  constructor(handle: Handle) {
    this.#handle = handle;
    this.#link = linkFor(handle);
  }

  put(item: readonly Buffer[], options: RequestOptions): Promise<string> {
    if (this.#inFlight < kPutWindow) return this.#send(item, options);
    // The window is full: wait here (the timeout counts from the call) for a slot.
    const started = Date.now();
    return this.#slot(options).then(() => {
      const { timeoutMs } = options;
      return this.#send(item, timeoutMs === undefined ? options : { ...options, timeoutMs: Math.max(0, timeoutMs - (Date.now() - started)) }, timeoutMs);
    });
  }

  #send(item: readonly Buffer[], options: RequestOptions, askedMs = options.timeoutMs): Promise<string> {
    this.#inFlight++;
    const nowait = options.timeoutMs === 0;
    let length = 0;
    for (const chunk of item) length += chunk.length;
    const type = nowait ? kPutNowait : kPut;
    const object = this.#handle.object;
    return this.#link.request(this.#handle, (id) => [encodeHead(type, id, object, length, 0), ...item], options, () => full(askedMs))
      .then((answer) => {
        this.#release();
        if (answer.type === kDone) return answer.payload.toString('utf8');
        throw refusal(answer, 'put', askedMs);
      }, (error: unknown) => {
        this.#release();
        throw error;
      });
  }

  /** A put was answered: its slot goes to the oldest put waiting for one. */
  #release(): void {
    this.#inFlight--;
    this.#waiting.shift()?.();
  }

  async get(options: RequestOptions): Promise<Delivery> {
    const { timeoutMs } = options;
    const answer = await this.#link.ask(this.#handle, timeoutMs === 0 ? kGetNowait : kGet, options, () => empty(timeoutMs));
    if (answer.type !== kDelivered) throw refusal(answer, 'get', timeoutMs);
    const space = answer.fn.indexOf(' ');
    return { deliveries: Number(answer.fn.slice(0, space)), id: answer.fn.slice(space + 1), payload: answer.payload };
  }

  ack(id: string): void {
    this.#link.send(this.#handle, [encodeText(kAck, 0, this.#handle.object, id)]);
  }

  release(ids: readonly string[]): void {
    if (ids.length > 0) this.#link.send(this.#handle, [encodeText(kRelease, 0, this.#handle.object, ids.join('\n'))]);
  }

  taskDone(id: string): void {
    this.#link.send(this.#handle, [encodeText(kTaskDone, 0, this.#handle.object, id)]);
  }

  async join(options: WaitOptions): Promise<void> {
    const answer = await this.#link.ask(this.#handle, kJoin, { signal: options.signal });
    if (answer.type !== kDone) throw refusal(answer, 'join', undefined);
  }

  async close(): Promise<void> {
    await this.#link.ask(this.#handle, kClose);
  }

  async stats(): Promise<QueueStats> {
    return this.#link.askValue<QueueStats>(this.#handle, kStats);
  }

  async inspect(): Promise<QueueSnapshot> {
    return this.#link.askValue<QueueSnapshot>(this.#handle, kInspect);
  }

  /** Waits for a put slot, honouring the put's own timeout and signal while it waits here. */
  #slot(options: RequestOptions): Promise<void> {
    const { timeoutMs, signal, group } = options;
    return new Promise((resolve, reject) => {
      const settle = (error?: Error): void => {
        stop();
        const at = this.#waiting.indexOf(go);
        if (at !== -1) this.#waiting.splice(at, 1);
        if (error) reject(error);
        else resolve();
      };
      const go = (): void => settle();
      const stop = watchWait(options, () => settle(full(timeoutMs)),
        () => settle(new AbortError('the operation was aborted', { cause: signal !== undefined ? signal.reason : group?.reason })));
      this.#waiting.push(go);
    });
  }
}

function full(timeoutMs: number | undefined): QueueFull {
  return new QueueFull(timeoutMs === 0 || timeoutMs === undefined
    ? 'the queue is full (putNowait does not wait for space); use put() to wait, or read from the queue'
    : `the queue stayed full for ${timeoutMs} ms; nothing was enqueued`);
}

function empty(timeoutMs: number | undefined): QueueEmpty {
  return new QueueEmpty(timeoutMs === 0 || timeoutMs === undefined
    ? 'the queue is empty (getNowait does not wait for an item); use get() to wait'
    : `no item arrived within ${timeoutMs} ms`);
}

function refusal(answer: Frame, what: 'put' | 'get' | 'join', timeoutMs: number | undefined): Error {
  if (answer.type === kRefused && answer.fn === 'closed') {
    return new QueueClosed(what === 'put' ? 'the queue is closed: no more puts are accepted' : 'the queue is closed and drained: there is nothing more to get');
  }
  if (answer.type === kRefused && answer.fn === 'cancelled') return what === 'put' ? full(timeoutMs) : empty(timeoutMs);
  return new Error(`procsafe: unexpected answer ${answer.type} (${answer.payload.toString('utf8')}) to a ${what}`);
}
