// A client's link to one owner: one connection per thread and owner, shared by all its objects this thread uses (frames
// to two objects keep their order; requests of one turn go out in one write). It holds nothing the owner needs back:
// leases and items live in the owner's state, attributed to this connection, so the owner settles a dead client's
// debts. If the owner dies, the kernel closes the socket and every pending and later request rejects with BrokerLost.
import { existsSync } from 'node:fs';
import { BrokerLost } from '../errors.js';
import type { Handle } from '../codec/handles.js';
import { authFrame, connect, type HandshakeFailed } from '../transport/client.js';
import type { Connection } from '../transport/connection.js';
import { isBundle, Outbox, unbundle } from './bundle.js';
import { encodeHead, type Frame, frameLimit } from '../transport/frame.js';
import {
  type AnswerFrame, checkAnswer, decodeRefusal, kAnswer, kRequest, type RequestBundle, type RequestKind,
} from './protocol.js';
import { kHandshakeDeadlineMs } from '../transport/handshake.js';
import { processAlive, procStat } from '../internal/proc.js';
import { unreachable } from '../internal/unreachable.js';
import { WriterFiles } from '../queue/spill.js';
import { sharedDirFor } from '../transport/shared-dir.js';
import { abortError, type RequestOptions, watchWait } from './wait.js';

export { CancelGroup, type RequestOptions, validateWait, type WaitOptions, watchWait } from './wait.js';

/** Returns what the owner granted a request whose caller already gave up (an item, a lease); a no-op where nothing is held. */
export type GiveBack = (answer: AnswerFrame) => void;

/** Who takes a request's answer: its answer frame, or the error that ends it (BrokerLost). */
export interface Pending {
  readonly resolve: (frame: AnswerFrame) => void;
  readonly reject: (error: Error) => void;
}

// How long a client retries an owner that is alive but not listening yet (its broker thread starting), counted in the
// delays between attempts: each runs only after this thread's loop did, so time it was blocked (or the owner was
// stopped) never counts.
const kStartupGraceMs = 10_000;

const links = new Map<string, Link>();

/** This thread's link to the owner of `handle` (one per owner). */
export function linkFor(handle: Handle): Link {
  let link = links.get(handle.path);
  if (link === undefined) {
    link = new Link(handle);
    links.set(handle.path, link);
  }
  return link;
}

export class Link {
  readonly #path: string;
  readonly #pid: number;
  readonly #first: Handle;
  readonly #opened = new Set<string>();
  readonly #pending = new Map<number, Pending>();
  /** Objects named before the connection was up: opened right after the handshake. */
  readonly #toOpen: Handle[] = [];
  #connection: Connection | undefined;
  #nonce: Buffer | undefined;
  #lost: BrokerLost | undefined;
  /** The owner was alive when this link gave up (it never served us): said so, not "gone". */
  #lostAlive = false;
  /** The owner's start time, to tell it from a later process given its pid (null: unknown). */
  readonly #startTime: string | null;
  /** Requests whose caller already settled (timeout, abort): their late answers are handed back, and keep no process alive. */
  readonly #late = new Set<number>();
  /** Frames to send, requests to build once connected (see send), parts to bundle. */
  readonly #out = new Outbox();
  /** The largest maxMessageBytes of the objects opened: what the owner takes in one frame, and sends. */
  #maxBytes: number;
  #flushQueued = false;
  #nextId = 1;
  #refed = true;
  /** This connection's files of large items at the owner, once the handshake named them. */
  #files: WriterFiles | undefined;

  constructor(first: Handle) {
    this.#path = first.path;
    this.#pid = first.pid;
    this.#first = first;
    this.#opened.add(first.object);
    this.#maxBytes = first.maxMessageBytes;
    this.#startTime = procStat(first.pid)?.startTime ?? null;
    void this.#connect();
  }

  // Sends a request and resolves with its answer frame. With `wait`, a timeout or abort asks the owner to cancel it.
  // Without `giveBack`, the answer is then the real one (it came first) or a `cancelled` refusal, which rejects with
  // `onTimeout()` or an AbortError. With `giveBack`, the call rejects at once, whatever the owner is doing (a stopped
  // owner answers nothing), and a real answer that arrives later goes to `giveBack` to be returned.
  request(
    handle: Handle, frame: (id: number) => Buffer[], wait: RequestOptions = {}, onTimeout?: () => Error, giveBack?: GiveBack,
  ): Promise<AnswerFrame> {
    // Built now when connected; otherwise once the handshake is done (see send).
    const enqueue = (id: number): void => this.send(handle, this.#connection === undefined ? () => frame(id) : frame(id));
    return this.#request(handle, enqueue, wait, onTimeout, giveBack);
  }

  // As request, for a request travelling in a bundle with the others of its kind made this turn (broker/bundle.ts): a
  // streaming producer's puts, a reader's read-ahead gets.
  requestPart(
    handle: Handle, bundle: RequestBundle, payload: readonly Buffer[], wait: RequestOptions = {}, onTimeout?: () => Error,
    giveBack?: GiveBack,
  ): Promise<AnswerFrame> {
    return this.#request(handle, (id) => this.#sendPart(handle, bundle, id, payload), wait, onTimeout, giveBack);
  }

  // As requestPart, answered through `pending` and cancelled by id (an iterator's read-ahead window): no promise, timer
  // or listener per request, most of a small item's cost on the reader's side. A lost link rejects `pending` soon after.
  requestPartTo(handle: Handle, bundle: RequestBundle, payload: readonly Buffer[], pending: Pending): void {
    if (this.#lost !== undefined) {
      const lost = this.#brokerLost(handle);
      queueMicrotask(() => pending.reject(lost));
      return;
    }
    const id = this.#newId();
    this.#sendPart(handle, bundle, id, payload);
    this.#pending.set(id, pending);
    this.#refresh();
  }

  #sendPart(handle: Handle, bundle: RequestBundle, id: number, payload: readonly Buffer[]): void {
    this.#open(handle);
    this.#out.pushPart({ bundle, object: handle.object, id, fn: '', payload });
    this.#flushSoon();
  }

  // Cancels every unanswered request of `pending` (requestPartTo); each still gets its real answer (if that came first)
  // or a `cancelled` refusal. Rare (a loop ends), so it looks through the link's requests, not a list per caller.
  cancelAll(handle: Handle, pending: Pending): void {
    for (const [id, waiting] of this.#pending) {
      if (waiting === pending) this.send(handle, [encodeHead(kRequest.CancelRequest, id, handle.object, 0)]);
    }
  }

  #newId(): number {
    const id = this.#nextId;
    this.#nextId = this.#nextId >= 0xffff_fffe ? 1 : this.#nextId + 1;
    return id;
  }

  #request(
    handle: Handle, enqueue: (id: number) => void, wait: RequestOptions, onTimeout?: () => Error, giveBack?: GiveBack,
  ): Promise<AnswerFrame> {
    if (this.#lost !== undefined) return Promise.reject(this.#brokerLost(handle));
    const { signal, timeoutMs, group } = wait;
    if (signal?.aborted) return Promise.reject(abortError(signal.reason));
    if (group?.cancelled) return Promise.reject(abortError(group.reason));
    const id = this.#newId();
    enqueue(id);
    let settleNow: ((error: Error) => void) | undefined;
    const answer = new Promise<AnswerFrame>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      settleNow = reject;
    });
    this.#refresh();
    const timed = timeoutMs !== undefined && timeoutMs > 0;
    const atOnce = timeoutMs === 0 && wait.cancelAtOnce === true;
    // The common case (no timeout, no signal) needs nothing more: the answer settles it.
    if (signal === undefined && group === undefined && !timed && !atOnce) return answer;
    let why: 'timeout' | 'abort' | undefined;
    const failure = (): Error =>
      (why === 'abort' ? abortError(signal !== undefined ? signal.reason : group?.reason) : (onTimeout as () => Error)());
    const cancel = (reason: 'timeout' | 'abort'): void => {
      if (why !== undefined || !this.#pending.has(id)) return;
      why = reason;
      this.send(handle, [encodeHead(kRequest.CancelRequest, id, handle.object, 0)]);
      if (giveBack === undefined) return;
      // Settled on time on our side (a stopped owner would hold the caller until it resumes); what it grants meanwhile
      // is returned when it arrives.
      this.#pending.set(id, { resolve: (frame) => { if (!isCancelled(frame)) giveBack(frame); }, reject: () => {} });
      this.#late.add(id);
      this.#refresh();
      (settleNow as (error: Error) => void)(failure());
    };
    // timeoutMs 0 is the owner's business (a *Nowait request): nothing to time here.
    const done = watchWait({ timeoutMs: timed ? timeoutMs : undefined, signal, group }, () => cancel('timeout'), () => cancel('abort'));
    if (atOnce) cancel('timeout');
    return answer.then((frame) => {
      done();
      if (why !== undefined && isCancelled(frame)) throw failure();
      return frame;
    }, (error: unknown) => {
      done();
      throw error;
    });
  }

  /** Connected and not lost: a lock word may be used (a lost owner's word must not grant anything). */
  get alive(): boolean {
    return this.#connection !== undefined && this.#lost === undefined;
  }

  // Where this link writes large items (queue/spill.ts), or undefined before the handshake: the files' names carry this
  // connection's prefix, so the owner knows whose they are and deletes them if this process dies before putting them.
  files(): WriterFiles | undefined {
    return this.#lost === undefined ? this.#files : undefined;
  }

  ask(handle: Handle, type: RequestKind, wait?: RequestOptions, onTimeout?: () => Error, giveBack?: GiveBack): Promise<AnswerFrame> {
    return this.request(handle, (id) => [encodeHead(type, id, handle.object, 0)], wait, onTimeout, giveBack);
  }

  /** A question whose answer is a JSON value (stats, inspect). */
  async askValue<T>(handle: Handle, type: RequestKind): Promise<T> {
    return JSON.parse((await this.ask(handle, type)).payload.toString('utf8')) as T;
  }

  // Sends frames for `handle`'s object, opening it on this link if needed; no answer is awaited. `frames` may be a
  // function that builds them: before the handshake it runs once connected, in order with the rest, so what it builds
  // may depend on the connection (a large item's file, named after it).
  send(handle: Handle, frames: readonly Buffer[] | (() => readonly Buffer[])): void {
    if (this.#lost !== undefined) return;
    this.#open(handle);
    if (typeof frames !== 'function') for (const frame of frames) this.#out.push(frame);
    else if (this.#connection === undefined) this.#out.pushBuild(frames);
    else for (const frame of frames()) this.#out.push(frame);
    this.#flushSoon();
  }

  // As send, but written at once with everything queued before it (a reader's read-ahead gets), so an ack is in the
  // kernel before its item reaches user code. Undefined once in the kernel, else a promise of when it is.
  sendNow(handle: Handle, frame: Buffer): Promise<void> | undefined {
    if (this.#connection === undefined || this.#lost !== undefined) {
      this.send(handle, [frame]);
      return undefined;
    }
    this.#open(handle);
    this.#out.push(frame);
    this.#flush();
    // Rarely, it had to queue behind writes the kernel has not taken yet (Connection.whenWritten).
    return this.#connection.whenWritten();
  }

  #open(handle: Handle): void {
    if (this.#opened.has(handle.object)) return;
    this.#opened.add(handle.object);
    if (handle.maxMessageBytes > this.#maxBytes) {
      this.#maxBytes = handle.maxMessageBytes;
      // The owner may now answer with frames as large as this object allows.
      if (this.#connection !== undefined) this.#connection.maxMessageBytes = frameLimit(this.#maxBytes);
    }
    if (this.#nonce !== undefined) this.#out.push(authFrame(handle.object, handle.secret, this.#nonce));
    else this.#toOpen.push(handle);
  }

  #flushSoon(): void {
    if (this.#connection !== undefined && !this.#flushQueued) {
      this.#flushQueued = true;
      queueMicrotask(() => this.#flush());
    }
  }

  // Connects, deciding the owner's death by evidence only: its pid gone (or now another process's), or its socket
  // refusing us for kStartupGraceMs of this thread's own time. A live owner that is stopped or slow is waited for: the
  // calls made meanwhile keep their own timeouts.
  async #connect(): Promise<void> {
    let grace = kStartupGraceMs;
    let delay = 5;
    const first = this.#first;
    for (;;) {
      try {
        // No limit of its own: a connection to a live owner ends only when the owner ends it.
        const { connection, nonce } = await connect(
          this.#path, first.object, first.secret, frameLimit(this.#maxBytes), undefined, sharedDirFor(this.#path));
        this.#connection = connection;
        this.#nonce = nonce;
        this.#files = new WriterFiles(sharedDirFor(this.#path), nonce);
        break;
      } catch (error) {
        const failed = error as HandshakeFailed;
        if (!processAlive(this.#pid, this.#startTime)) return this.#lose(failed.message);
        if (failed.stage === 'garbage') return this.#lose(failed.message);
        // Cut after the owner's deadline: we were too slow (this thread blocked), not refused. Connect again.
        if (failed.stage === 'cut' && failed.afterMs >= kHandshakeDeadlineMs) continue;
        // Not listening yet (its broker thread starts), or refusing us: only time the owner could run counts.
        if (procStat(this.#pid)?.state !== 'T') grace -= delay;
        if (grace <= 0) return this.#lose(failed.message, true);
        await new Promise((resolve) => setTimeout(resolve, delay));
        delay = Math.min(delay * 2, 100);
      }
    }
    const connection = this.#connection;
    const opens = this.#toOpen.splice(0).map((handle) => authFrame(handle.object, handle.secret, this.#nonce as Buffer));
    // First, once: our pid (`procsafe status`: the owner knows clients only by connection), and whether we see its
    // directory of large items' files (another mount namespace or a container sharing only the socket would not: it then
    // sends their bytes).
    const pid = encodeHead(kRequest.PeerPid, 0, '', 5);
    pid.writeUInt32BE(process.pid, pid.length - 5);
    pid[pid.length - 1] = existsSync(sharedDirFor(this.#path)) ? 1 : 0;
    this.#out.unshift([pid, ...opens]);
    // Objects opened while connecting may allow larger frames than the first.
    connection.maxMessageBytes = frameLimit(this.#maxBytes);
    const answer = (frame: Frame): void => {
      // A malformed one cuts the link (BrokerLost): the owner is not what we take it for.
      checkAnswer(frame);
      const pending = this.#pending.get(frame.id);
      if (pending !== undefined) {
        this.#pending.delete(frame.id);
        if (this.#late.size > 0) this.#late.delete(frame.id);
        if (this.#pending.size <= this.#late.size) this.#refresh();
        pending.resolve(frame);
        return;
      }
      this.#unasked(frame);
    };
    connection.listen({
      frame: (frame) => (isBundle(frame.type) ? unbundle(frame, answer) : answer(frame)),
      close: (reason) => this.#lose(reason?.message ?? 'the connection closed'),
    });
    this.#refresh();
    this.#flush();
  }

  /** An answer no request waits for (id 0): a file given back, or the refusal of a request sent without an id (a taskDone). */
  #unasked(frame: AnswerFrame): void {
    switch (frame.type) {
      case kAnswer.FileFree: return this.#files?.freed(frame.payload.toString('utf8'));
      case kAnswer.Refused:
        return void process.emitWarning(
          `procsafe: the owner at ${this.#path} refused a request: ${decodeRefusal(frame).message}`, 'ProcsafeWarning');
      case kAnswer.Done: case kAnswer.Delivered: case kAnswer.DeliveredFile: case kAnswer.Granted: case kAnswer.Passed:
      case kAnswer.Value: case kAnswer.MapParts:
        return;
      default: return unreachable(frame.type, 'answer type');
    }
  }

  #flush(): void {
    this.#flushQueued = false;
    if (this.#out.empty || this.#connection === undefined) return;
    this.#connection.send(this.#out.take(this.#maxBytes));
  }

  /** The socket keeps the process alive only while a caller waits for an answer. */
  #refresh(): void {
    const connection = this.#connection;
    const wanted = this.#pending.size > this.#late.size;
    if (connection === undefined || connection.closed || this.#lost !== undefined || wanted === this.#refed) return;
    this.#refed = wanted;
    if (wanted) connection.ref();
    else connection.unref();
  }

  #lose(why: string, alive = false): void {
    if (this.#lost !== undefined) return;
    this.#lost = new BrokerLost(why);
    this.#lostAlive = alive;
    this.#files?.close();
    this.#out.clear();
    this.#toOpen.length = 0;
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    this.#late.clear();
    for (const request of pending) request.reject(this.#brokerLost(this.#first, why));
  }

  #brokerLost(handle: Handle, why = this.#lost?.message ?? ''): BrokerLost {
    if (this.#lostAlive) {
      return new BrokerLost(`the owner of this ${handle.kind} (pid ${handle.pid}) is alive but did not let this process connect ` +
        `for ${kStartupGraceMs / 1000} s (${why}); its broker thread may have failed (see the owner's warnings)`);
    }
    return new BrokerLost(`the owner of this ${handle.kind} (pid ${handle.pid}) is gone (${why}); ` +
      `the process that created the ${handle.kind} exited or was killed, and what it held is lost with it`);
  }
}

function isCancelled(frame: AnswerFrame): boolean {
  return frame.type === kAnswer.Refused && decodeRefusal(frame).reason === 'cancelled';
}
