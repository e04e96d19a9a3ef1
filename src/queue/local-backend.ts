/** A queue whose state lives in the broker of the process that created it, reached over this thread's link (broker/link.ts). */
import type { Handle } from '../codec/handles.js';
import { linkFor, type Link, type Pending } from '../broker/link.js';
import { type RequestOptions, type WaitOptions, watchWait } from '../internal/wait.js';
import {
  type AnswerFrame, decodeDelivery, decodeRefusal, kAnswer, kBundle, kRequest, quarantineError, type Refusal,
} from '../broker/protocol.js';
import { AbortError, BrokerLost, QueueClosed, QueueEmpty, QueueFull } from '../errors.js';
import { unreachable } from '../internal/unreachable.js';
import { kNoPayload } from '../broker/bundle.js';
import { encodeHead, encodeText } from '../transport/frame.js';
import type { Delivery, DeliveryReceiver, QueueBackend, QueueStats, ReadAheadGets } from './backend.js';
import { kSpillFrom, readSpill, spillAllowed } from './spill.js';
import { sharedDirFor } from '../transport/shared-dir.js';
import type { QueueSnapshot } from './state-types.js';
import { totalLength } from '../internal/chunks.js';
import { queueClosed, queueEmpty, queueFull, queueLeft } from './refusals.js';

/** Puts a client keeps unanswered at once; more wait in the producer's memory, so the owner parks at most this many per client. */
const kPutWindow = 1024;

export class LocalQueueBackend implements QueueBackend {
  readonly #handle: Handle;
  readonly #link: Link;
  #inFlight = 0;
  readonly #waiting: (() => void)[] = [];
  /** The owner's directory of large items' files (spill.ts), and whether to write there: false once that proved impossible. */
  readonly #spillDir: string;
  #spill: boolean;
  /** disconnect() was called: every call is refused here, and the owner refused what was waiting. */
  #left = false;

  constructor(handle: Handle) {
    this.#handle = handle;
    this.#link = linkFor(handle);
    this.#spillDir = sharedDirFor(handle.path);
    this.#spill = spillAllowed();
  }

  put(item: readonly Buffer[], options: RequestOptions): Promise<void> {
    if (this.#left) return Promise.reject(queueLeft());
    if (this.#inFlight < kPutWindow) return this.#send(item, options);
    // The window is full: wait here (the timeout counts from the call) for a slot.
    const started = Date.now();
    return this.#slot(options).then(() => {
      const { timeoutMs } = options;
      const left = timeoutMs === undefined ? options : { ...options, timeoutMs: Math.max(0, timeoutMs - (Date.now() - started)) };
      return this.#send(item, left, timeoutMs);
    });
  }

  #send(item: readonly Buffer[], options: RequestOptions, askedMs = options.timeoutMs): Promise<void> {
    // A put that waited for a slot while this process disconnected.
    if (this.#left) return Promise.reject(queueLeft());
    this.#inFlight++;
    const nowait = options.timeoutMs === 0;
    const length = totalLength(item);
    const bundled = !nowait && !(length >= kSpillFrom && this.#spill);
    // A small item travels with the other puts of this turn, in one frame (broker/bundle.ts).
    // With nothing to time or cancel (a streaming producer's puts) it needs no promise but its own.
    if (bundled && options.timeoutMs === undefined && options.signal === undefined && options.group === undefined) {
      return new Promise((resolve, reject) => {
        this.#link.requestPartTo(this.#handle, kBundle.Put, item, {
          resolve: (answer) => {
            const refused = this.#answered(answer, undefined);
            if (refused === undefined) resolve();
            else reject(refused);
          },
          reject: (error) => {
            this.#release();
            reject(error);
          },
        });
      });
    }
    const onFull = (): QueueFull => queueFull(askedMs);
    const sent = bundled
      ? this.#link.requestPart(this.#handle, kBundle.Put, item, options, onFull)
      : this.#link.request(this.#handle, (id) => this.#frame(id, item, length, nowait, options), options, onFull);
    return sent
      .then((answer) => {
        const refused = this.#answered(answer, askedMs);
        if (refused !== undefined) throw refused;
      }, (error: unknown) => {
        this.#release();
        throw error;
      });
  }

  /** A put's answer came: its slot is free again; returns the error a refusal means (undefined: held). */
  #answered(answer: AnswerFrame, askedMs: number | undefined): Error | undefined {
    this.#release();
    return this.#failure(answer, 'put', askedMs);
  }

  /** A put's own frame, built when the link sends it: a large item's file is named after the connection. */
  #frame(id: number, item: readonly Buffer[], length: number, nowait: boolean, options: RequestOptions): Buffer[] {
    const object = this.#handle.object;
    const file = length >= kSpillFrom && this.#spill ? this.#toFile(item, length, options) : undefined;
    return file === undefined
      ? [encodeHead(nowait ? kRequest.PutNowait : kRequest.Put, id, object, length, 0), ...item]
      : [encodeText(nowait ? kRequest.PutFileNowait : kRequest.PutFile, id, object, file)];
  }

  /** The put's text for the item written into a file of the owner's; undefined to send it through the socket. */
  #toFile(item: readonly Buffer[], length: number, { signal, group }: RequestOptions): string | undefined {
    // A put that will not be sent must not leave a file behind.
    if (signal?.aborted || group?.cancelled) return undefined;
    const outcome = this.#link.files()?.write(item, length);
    if (outcome === 'unusable') this.#spill = false;
    return outcome === 'full' || outcome === 'unusable' ? undefined : outcome;
  }

  /** A put's slot goes to the oldest put waiting for one. */
  #release(): void {
    this.#inFlight--;
    this.#waiting.shift()?.();
  }

  async get(options: RequestOptions): Promise<Delivery> {
    if (this.#left) throw queueLeft();
    const { timeoutMs } = options;
    const onEmpty = (): QueueEmpty => queueEmpty(timeoutMs);
    // Read-ahead gets travel together, in one frame (broker/bundle.ts).
    const answer = await (timeoutMs === 0
      ? this.#link.ask(this.#handle, kRequest.GetNowait, options, onEmpty)
      : this.#link.requestPart(this.#handle, kBundle.Get, kNoPayload, options, onEmpty, this.#giveBack));
    const error = this.#failure(answer, 'get', timeoutMs);
    if (error !== undefined) throw error;
    return this.#delivery(answer);
  }

  readAhead(receiver: DeliveryReceiver): ReadAheadGets {
    const link = this.#link;
    const handle = this.#handle;
    let cancelled = false;
    // One answer taker for the whole window: an answer frame carries its request id.
    const pending: Pending = {
      resolve: (answer) => {
        const error = this.#failure(answer, 'get', undefined);
        if (error === undefined) receiver.delivered(this.#delivery(answer));
        else if (cancelled && answer.type === kAnswer.Refused && decodeRefusal(answer).reason === 'cancelled') {
          receiver.failed(new AbortError('the operation was aborted'));
        } else receiver.failed(error);
      },
      // Once per unanswered get (the link is lost).
      reject: (error) => receiver.failed(error),
    };
    return {
      request: () => {
        if (this.#left) queueMicrotask(() => receiver.failed(queueLeft()));
        else link.requestPartTo(handle, kBundle.Get, kNoPayload, pending);
      },
      cancelAll: () => {
        cancelled = true;
        link.cancelAll(handle, pending);
      },
    };
  }

  /** An item delivered after its get gave up (timeout, abort) goes back to the front, unread, for another reader. */
  readonly #giveBack = (answer: AnswerFrame): void => {
    if (answer.type === kAnswer.Delivered || answer.type === kAnswer.DeliveredFile) {
      this.release([{ id: decodeDelivery(answer).itemId }]);
    }
  };

  #delivery(answer: AnswerFrame): Delivery {
    const { deliveries, itemId: id, item, file } = decodeDelivery(answer);
    // The owner fences by connection: a reader that lost its item lost its connection, so no token is needed.
    if (item !== undefined) return { deliveries, id, token: '', payload: item };
    // Read at hand-over. Only someone deleting the owner's files by hand makes that fail.
    return { deliveries, id, token: '', payload: () => readSpill(this.#spillDir, file) };
  }

  /** Throws QueueClosed once disconnected: the owner took the item back, so it must not reach user code. */
  ack({ id }: Pick<Delivery, 'id'>): Promise<void> | undefined {
    if (this.#left) throw queueLeft();
    return this.#link.sendNow(this.#handle, encodeText(kRequest.Ack, 0, this.#handle.object, id));
  }

  /** A no-op once disconnected: the owner took back every item this process held. */
  release(deliveries: readonly Pick<Delivery, 'id'>[]): void {
    if (deliveries.length === 0 || this.#left) return;
    const ids = deliveries.map(({ id }) => id).join('\n');
    this.#link.send(this.#handle, [encodeText(kRequest.Release, 0, this.#handle.object, ids)]);
  }

  taskDone(id: string): void {
    if (this.#left) throw queueLeft();
    this.#link.send(this.#handle, [encodeText(kRequest.TaskDone, 0, this.#handle.object, id)]);
  }

  async join(options: WaitOptions): Promise<void> {
    // Aborted, it settles at once; the owner's late Done holds nothing.
    if (this.#left) throw queueLeft();
    const answer = await this.#link.ask(this.#handle, kRequest.Join, { signal: options.signal }, undefined, () => {});
    const error = this.#failure(answer, 'join', undefined);
    if (error !== undefined) throw error;
  }

  async close(immediate: boolean): Promise<void> {
    if (this.#left) throw queueLeft();
    const object = this.#handle.object;
    const frame = (id: number): Buffer[] => (immediate
      ? [encodeHead(kRequest.Close, id, object, 1, 0), kOne]
      : [encodeHead(kRequest.Close, id, object, 0)]);
    await this.#link.request(this.#handle, frame);
  }

  async disconnect(): Promise<void> {
    if (this.#left) return;
    this.#left = true;
    try {
      await this.#link.ask(this.#handle, kRequest.Leave);
    } catch (error) {
      // An owner that is gone holds nothing of ours: there is nothing left to let go of.
      if (!(error instanceof BrokerLost)) throw error;
    }
  }

  /** As the module's failure, but a `closed` refusal after disconnect() says so. */
  #failure(answer: AnswerFrame, what: 'put' | 'get' | 'join', timeoutMs: number | undefined): Error | undefined {
    const error = failure(answer, what, timeoutMs);
    return this.#left && error instanceof QueueClosed ? queueLeft() : error;
  }

  async stats(): Promise<QueueStats> {
    if (this.#left) throw queueLeft();
    return this.#link.askValue<QueueStats>(this.#handle, kRequest.Stats);
  }

  async inspect(): Promise<QueueSnapshot> {
    if (this.#left) throw queueLeft();
    return this.#link.askValue<QueueSnapshot>(this.#handle, kRequest.Inspect);
  }

  /** Honours the put's own timeout and signal while it waits here. */
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
      const stop = watchWait(options, () => settle(queueFull(timeoutMs)),
        () => settle(new AbortError('the operation was aborted', { cause: signal !== undefined ? signal.reason : group?.reason })));
      this.#waiting.push(go);
    });
  }
}

const kOne = Buffer.from([1]);

/** The error an answer stands for; undefined for the one expected (Done for a put or a join, a delivery for a get). */
function failure(answer: AnswerFrame, what: 'put' | 'get' | 'join', timeoutMs: number | undefined): Error | undefined {
  switch (answer.type) {
    case kAnswer.Done: return what === 'get' ? unexpected(answer, what) : undefined;
    case kAnswer.Delivered: case kAnswer.DeliveredFile: return what === 'get' ? undefined : unexpected(answer, what);
    case kAnswer.Refused: return refused(decodeRefusal(answer), what, timeoutMs);
    case kAnswer.Granted: case kAnswer.Passed: case kAnswer.Value: case kAnswer.FileFree: case kAnswer.MapParts:
      return unexpected(answer, what);
    default: return unreachable(answer.type, 'answer type');
  }
}

function refused({ reason, message }: Refusal, what: 'put' | 'get' | 'join', timeoutMs: number | undefined): Error {
  switch (reason) {
    case 'closed': return queueClosed(what === 'put' ? 'put' : 'get');
    case 'cancelled': return what === 'put' ? queueFull(timeoutMs) : queueEmpty(timeoutMs);
    case 'quarantined': return quarantineError(message);
    // A queue refuses these only to requests without an answer (a taskDone), and never breaks.
    case 'broken': case 'invalid': return new Error(`procsafe: unexpected refusal '${reason}' (${message}) of a ${what}`);
    default: return unreachable(reason, 'refusal reason');
  }
}

function unexpected(answer: AnswerFrame, what: 'put' | 'get' | 'join'): Error {
  return new Error(`procsafe: unexpected answer ${answer.type} (${answer.payload.toString('utf8')}) to a ${what}`);
}
