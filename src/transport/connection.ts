// One framed, authenticated link between an owner and a peer over a Unix socket. Garbage, a truncated frame or one
// over maxMessageBytes ends the link with a reason; nothing else is affected.
import { writeSync } from 'node:fs';
import type { Socket } from 'node:net';
import { coalesce, type Frame, FrameDecoder, parseFrame, ProtocolViolation } from './frame.js';

// Whether a link ended by the peer's fault (garbage, a failed proof, a half frame), worth a log line, rather than by
// its death (ECONNRESET, EPIPE), which is ordinary and settled without a word.
export function isPeerFault(reason: Error | undefined): reason is Error {
  return reason instanceof ProtocolViolation || (reason !== undefined && (reason as NodeJS.ErrnoException).code === undefined);
}

/** Messages up to this size are tried with a direct write (see #trySync). */
const kSyncWriteMax = 64 * 1024;

export interface ConnectionEvents {
  frame(frame: Frame): void;
  /** Exactly once; `reason` is undefined for an orderly end. */
  close(reason: Error | undefined): void;
}

export class Connection {
  readonly #socket: Socket;
  readonly #decoder: FrameDecoder;
  #events: ConnectionEvents | undefined;
  /** Frames that arrived while nobody listened (between the handshake and its new owner). */
  #early: Frame[] = [];
  #closed = false;
  #reason: Error | undefined;
  /** Writes handed to the socket's stream and not yet to the kernel (see whenWritten). */
  #queued = 0;
  #onWritten: (() => void)[] = [];
  readonly #written = (): void => {
    if (--this.#queued === 0) this.#wakeWriters();
  };
  /** See limitUnread; 0: no limit (a client's link to its owner). */
  #unreadBytes = 0;
  #unreadWrites = 0;
  #frameLimit: number;

  /** `piecesFrom`: see FrameDecoder (a relay keeps large frames in the pieces they came in). */
  constructor(socket: Socket, maxMessageBytes: number, piecesFrom?: number) {
    this.#socket = socket;
    this.#frameLimit = maxMessageBytes;
    this.#decoder = new FrameDecoder(maxMessageBytes, piecesFrom);
    socket.on('data', (chunk: Buffer) => {
      try {
        this.#decoder.push(chunk, (body, more) => {
          const frame = more === undefined || more.length === 0 ? parseFrame(body) : { ...parseFrame(body), more };
          if (this.#events === undefined) this.#early.push(frame);
          else this.#events.frame(frame);
        });
      } catch (error) {
        this.destroy(error as Error);
      }
    });
    socket.on('error', (error) => { this.#reason ??= error; });
    socket.on('close', () => {
      // A peer that died mid-frame leaves a tail: it is dropped here, never delivered.
      if (this.#reason === undefined && this.#decoder.pending > 0) {
        this.#reason = new Error(`the peer went away in the middle of a frame (${this.#decoder.pending} bytes dropped)`);
      }
      this.#closed = true;
      // Nothing more will be written: no one waits for it.
      this.#wakeWriters();
      this.#events?.close(this.#reason);
    });
  }

  /** Delivers frames to `events` (first those held back); a link that already closed reports so at once. */
  listen(events: ConnectionEvents): void {
    this.#events = events;
    const early = this.#early;
    this.#early = [];
    for (const frame of early) events.frame(frame);
    if (this.#closed) events.close(this.#reason);
  }

  /** Holds frames back until the next listen(): hands the link from the handshake to its owner. */
  pause(): void {
    this.#events = undefined;
  }

  get closed(): boolean { return this.#closed; }

  set maxMessageBytes(value: number) {
    this.#frameLimit = value;
    this.#decoder.maxMessageBytes = value;
  }

  // Cuts the link once the peer leaves over `bytes` (or two of its largest frames) or `writes` writes unread: an owner
  // would otherwise hold for ever every answer a peer asks for and never reads (Redis's client-output-buffer-limit).
  // Its close then settles what it held, as a death does.
  limitUnread(bytes: number, writes: number): void {
    this.#unreadBytes = bytes;
    this.#unreadWrites = writes;
  }

  send(chunks: readonly Buffer[]): void {
    if (this.#closed || this.#socket.destroyed) return;
    const out = coalesce(chunks, kSyncWriteMax);
    if (out.length === 1) {
      const rest = this.#trySync(out[0] as Buffer);
      if (rest !== undefined) this.#write(rest);
    } else {
      this.#socket.cork();
      for (const chunk of out) this.#write(chunk);
      this.#socket.uncork();
    }
    if (this.#unreadBytes > 0) this.#checkUnread();
  }

  #checkUnread(): void {
    const bytes = this.#socket.writableLength;
    const most = Math.max(this.#unreadBytes, 2 * this.#frameLimit);
    if (bytes <= most && this.#queued <= this.#unreadWrites) return;
    this.destroy(new Error(`it left ${bytes} bytes of answers in ${this.#queued} writes unread, ` +
      `over the limit of ${most} bytes or ${this.#unreadWrites} writes; it is treated as dead`));
  }

  // Undefined when all sent so far is in the kernel (where it survives this process), else resolves once it is, or the
  // link closed. A reader acks an item before handing it out; an ack queued behind earlier writes (a large put the
  // kernel took only part of) makes the item wait too.
  whenWritten(): Promise<void> | undefined {
    if (this.#queued === 0 || this.#closed) return undefined;
    return new Promise((resolve) => { this.#onWritten.push(resolve); });
  }

  #wakeWriters(): void {
    const waiting = this.#onWritten;
    this.#onWritten = [];
    for (const resolve of waiting) resolve();
  }

  #write(chunk: Buffer): void {
    this.#queued++;
    // Called once the chunk is in the kernel, or with an error once the socket is destroyed.
    this.#socket.write(chunk, this.#written);
  }

  // Writes a small message straight to the fd when the stream has nothing queued: one syscall, not the stream's
  // machinery (a queue reader acks every item). Returns what is left for the stream, which keeps the order.
  #trySync(buffer: Buffer): Buffer | undefined {
    const fd = (this.#socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
    if (buffer.length > kSyncWriteMax || fd === undefined || fd < 0) return buffer;
    if (this.#socket.writableLength > 0 || this.#socket.connecting) return buffer;
    let written: number;
    try {
      written = writeSync(fd, buffer);
    } catch {
      // EAGAIN (the kernel buffer is full) or a broken link, which the stream then reports; a short write returns the rest.
      // Node: https://github.com/nodejs/node/issues/12921
      return buffer;
    }
    return written === buffer.length ? undefined : buffer.subarray(written);
  }

  /** Ends the link now; `reason` says why (a protocol violation, a failed proof). */
  destroy(reason?: Error): void {
    this.#reason ??= reason;
    this.#socket.destroy();
  }

  ref(): void { this.#socket.ref(); }
  unref(): void { this.#socket.unref(); }
}
