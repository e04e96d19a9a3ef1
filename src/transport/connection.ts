// One framed, authenticated link between an owner and a peer. Its frames travel over a Unix socket, or, once both ends
// mapped them, over the connection's lanes in shared memory (lanes/), which carry the very same frames: the switch is
// this file's business alone, invisible to the broker and the client link above. The socket stays either way: the kernel
// closes it however a peer dies, which is how the other end learns of the death. Garbage, a truncated frame or one over
// maxMessageBytes ends the link with a reason; nothing else is affected.
import { writeSync } from 'node:fs';
import type { Socket } from 'node:net';
import { coalesce, encodeBare, encodeHead, type Frame, FrameDecoder, parseFrame, ProtocolViolation } from './frame.js';
import { kHandshake } from './handshake.js';
import { kLaneName } from './lanes/layout.js';
import { Lanes } from './lanes/lanes.js';
import { loadNative } from '../native/load.js';

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
  readonly #piecesFrom: number | undefined;
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
  /** The lanes offered (owner) or mapped (client); see #laneFrame for the switch. */
  #lanes: Lanes | undefined;
  /** Where a client finds lanes its owner offers; undefined: it declines them. */
  #laneDir: string | undefined;
  /** Owner: lanes were offered to this peer. */
  #offered = false;
  /** Frames this end sends go in its lane (after LanesOn, or the owner's LanesSwitched). */
  #sendsInLanes = false;
  /** Decodes the incoming lane: a stream of its own, begun at a frame boundary. */
  #laneDecoder: FrameDecoder | undefined;

  /** `piecesFrom`: see FrameDecoder (a relay keeps large frames in the pieces they came in). */
  constructor(socket: Socket, maxMessageBytes: number, piecesFrom?: number) {
    this.#socket = socket;
    this.#frameLimit = maxMessageBytes;
    this.#decoder = new FrameDecoder(maxMessageBytes, piecesFrom);
    this.#piecesFrom = piecesFrom;
    socket.on('data', (chunk: Buffer) => {
      try {
        this.#decoder.push(chunk, (body, more) => {
          const frame = more === undefined || more.length === 0 ? parseFrame(body) : { ...parseFrame(body), more };
          if (frame.type >= kHandshake.Lanes && frame.type <= kHandshake.LanesSwitched) this.#laneFrame(frame);
          else this.#deliver(frame);
        });
      } catch (error) {
        this.destroy(error as Error);
      }
    });
    socket.on('error', (error) => { this.#reason ??= error; });
    socket.on('close', () => {
      // What the peer published in its lane before it went is read first (an ack written there counts), unless the
      // link was cut for garbage.
      if (isPeerFault(this.#reason)) this.#lanes?.close();
      else this.#lanes?.finish();
      // Let go of the mapping: a link to a dead owner may be kept for its BrokerLost, the memory need not.
      this.#lanes = undefined;
      // A peer that died mid-frame leaves a tail: it is dropped here, never delivered.
      const pending = this.#decoder.pending + (this.#laneDecoder?.pending ?? 0);
      if (this.#reason === undefined && pending > 0) {
        this.#reason = new Error(`the peer went away in the middle of a frame (${pending} bytes dropped)`);
      }
      this.#closed = true;
      // Nothing more will be written: no one waits for it.
      this.#wakeWriters();
      this.#events?.close(this.#reason);
    });
  }

  #deliver(frame: Frame): void {
    if (this.#events === undefined) this.#early.push(frame);
    else this.#events.frame(frame);
  }

  /** Owner: offers the peer lanes named `name` in `dir` (right after Welcome). Best effort: on failure, the socket serves. */
  offerLanes(dir: string, name: string): boolean {
    const addon = loadNative(true);
    if (addon === undefined || this.#lanes !== undefined) return false;
    try {
      this.#lanes = Lanes.create(addon, dir, name);
    } catch {
      // /dev/shm full, or out of descriptors: this peer talks over the socket, as without the addon.
      return false;
    }
    this.#offered = true;
    this.#socketSend([encodeHead(kHandshake.Lanes, 0, name, 0)]);
    return true;
  }

  /** Client: accepts lanes its owner offers, found in `dir` (the owner's directory under /dev/shm). */
  acceptLanes(dir: string): void {
    this.#laneDir = dir;
  }

  /** Whether this end's frames travel in shared memory. */
  get inLanes(): boolean { return this.#sendsInLanes; }

  // The switch, in order on each side, so no frame overtakes another: the client sends LanesOn as its last socket frame
  // and writes to its up lane after it; the owner reads the up lane once it read LanesOn, answers LanesSwitched as its
  // last socket frame and writes to the down lane after it; the client reads the down lane once it read LanesSwitched.
  #laneFrame(frame: Frame): void {
    const owner = this.#offered;
    switch (frame.type) {
      case kHandshake.Lanes: {
        if (owner || this.#lanes !== undefined || !kLaneName.test(frame.fn)) throw new ProtocolViolation('an unexpected lane offer');
        const dir = this.#laneDir;
        // A client that did not ask for lanes (acceptLanes) declines them: the socket serves it as before.
        const addon = dir === undefined ? undefined : loadNative();
        let lanes: Lanes | undefined;
        try {
          lanes = addon === undefined ? undefined : Lanes.open(addon, dir as string, frame.fn);
        } catch {
          lanes = undefined;
        }
        if (lanes === undefined) {
          this.#socketSend([encodeBare(kHandshake.LanesNo, 0)]);
          return;
        }
        this.#lanes = lanes;
        this.#socketSend([encodeBare(kHandshake.LanesOn, 0)]);
        this.#sendsInLanes = true;
        return;
      }
      case kHandshake.LanesOn: case kHandshake.LanesNo: {
        const lanes = this.#lanes;
        if (!owner || lanes === undefined || this.#sendsInLanes) throw new ProtocolViolation('an unexpected lane answer');
        lanes.unlinkFiles();
        if (frame.type === kHandshake.LanesNo) {
          lanes.close();
          this.#lanes = undefined;
          return;
        }
        this.#socketSend([encodeBare(kHandshake.LanesSwitched, 0)]);
        this.#sendsInLanes = true;
        this.#readLanes(lanes);
        return;
      }
      case kHandshake.LanesSwitched: {
        const lanes = this.#lanes;
        if (owner || lanes === undefined || this.#laneDecoder !== undefined) throw new ProtocolViolation('an unexpected lane switch');
        this.#readLanes(lanes);
        return;
      }
      default: throw new ProtocolViolation(`frame type ${frame.type} is not a lane frame`);
    }
  }

  #readLanes(lanes: Lanes): void {
    const decoder = new FrameDecoder(this.#frameLimit, this.#piecesFrom);
    this.#laneDecoder = decoder;
    lanes.read({
      bytes: (chunk) => {
        try {
          decoder.push(chunk, (body, more) => {
            const frame = more === undefined || more.length === 0 ? parseFrame(body) : { ...parseFrame(body), more };
            // The switch is over: a lane frame in a lane is garbage (an Auth, opening a further object, is not).
            if (frame.type >= kHandshake.Lanes && frame.type <= kHandshake.LanesSwitched) {
              throw new ProtocolViolation(`lane frame type ${frame.type} inside a lane`);
            }
            this.#deliver(frame);
          });
        } catch (error) {
          this.destroy(error as Error);
        }
      },
      fault: (error) => this.destroy(error),
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
    if (this.#laneDecoder !== undefined) this.#laneDecoder.maxMessageBytes = value;
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
    if (this.#sendsInLanes) {
      (this.#lanes as Lanes).send(chunks);
      if (this.#unreadBytes > 0) this.#checkUnread();
      return;
    }
    this.#socketSend(chunks);
  }

  #socketSend(chunks: readonly Buffer[]): void {
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
    const bytes = this.#sendsInLanes ? (this.#lanes as Lanes).pendingBytes : this.#socket.writableLength;
    const most = Math.max(this.#unreadBytes, 2 * this.#frameLimit);
    if (bytes <= most && this.#queued <= this.#unreadWrites) return;
    this.destroy(new Error(`it left ${bytes} bytes of answers in ${this.#queued} writes unread, ` +
      `over the limit of ${most} bytes or ${this.#unreadWrites} writes; it is treated as dead`));
  }

  // Undefined when all sent so far is in the kernel (where it survives this process), else resolves once it is, or the
  // link closed. A reader acks an item before handing it out; an ack queued behind earlier writes (a large put the
  // kernel took only part of) makes the item wait too.
  whenWritten(): Promise<void> | undefined {
    if (this.#closed) return undefined;
    const socket = this.#queued === 0 ? undefined : new Promise<void>((resolve) => { this.#onWritten.push(resolve); });
    // In a lane, a byte is safe once published: the owner maps the memory and reads it even after this process died
    // (once it read LanesOn from the socket: hence the socket's queue too).
    const lane = this.#sendsInLanes ? (this.#lanes as Lanes).whenFlushed() : undefined;
    if (lane === undefined) return socket;
    return socket === undefined ? lane : Promise.all([socket, lane]).then(() => undefined);
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
