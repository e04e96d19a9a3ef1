// The owner's listening side, a Unix socket in the 0700 runtime directory. A peer reaches the owner only once it proves
// the secret; one that fails, stalls or sends garbage is cut off with a logged reason, never disturbing the others. The
// caps (limits.ts) keep a flood from taking the owner's fds, and are split so that peers proving nothing never keep out
// one that does, nor `procsafe status`.
import { chmodSync, unlinkSync } from 'node:fs';
import { createServer, type Server as NetServer, type Socket } from 'node:net';
import { newNonce } from './auth.js';
import { rateLimited } from '../internal/log.js';
import { Connection, isPeerFault } from './connection.js';
import { newSocketPath } from './endpoint.js';
import { encodeBare } from './frame.js';
import { kHandshake, kHandshakeDeadlineMs } from './handshake.js';
import { laneName } from './lanes/layout.js';
import { kUnreadBytes, kUnreadWrites, type PeerLimits, peerLimits } from './limits.js';

/** Until a peer proves a secret it may send only the handshake: a few bytes. */
const kHandshakeMaxBytes = 1024;

export interface ServerOptions {
  /** Whether `proof` is HMAC(secret of `object`, nonce): the peer names the object it was handed. */
  readonly verify: (object: string, nonce: Buffer, proof: Buffer) => boolean;
  /** The largest frame a proven peer may send. */
  readonly maxMessageBytes: number;
  /** Where to listen. @default a fresh path in the runtime directory */
  readonly path?: string;
  /** A proven peer, the id its debts are settled by, the object it proved, and its nonce (for further objects' proofs). */
  readonly onPeer: (connection: Connection, peerId: number, opened: { object: string; nonce: Buffer }) => void;
  /** Frames of at least this many bytes arrive in the pieces they came in (Frame.more). @default never */
  readonly piecesFrom?: number;
  /** Where reasons for refused or cut-off peers go (at most 10 lines of a kind per 5 s). @default process.emitWarning */
  readonly log?: (message: string) => void;
  /** Objects whose peers take the reserved slots (`procsafe status` readers). */
  readonly reserved?: (object: string) => boolean;
  /** @default from the soft limit on open files (limits.ts) */
  readonly limits?: PeerLimits;
  /** The owner's directory under /dev/shm, where proven peers are offered lanes (lanes/). @default no lanes */
  readonly lanesDir?: string;
}

export class Server {
  readonly path: string;
  readonly #server: NetServer;
  readonly #options: ServerOptions;
  readonly #sockets = new Set<Socket>();
  #nextPeerId = 1;
  #closing: Promise<void> | undefined;
  readonly #limits: PeerLimits;
  /** Connections still in the handshake, oldest first. */
  readonly #unproven = new Set<Connection>();
  readonly #reserved = new Set<Connection>();
  #proven = 0;
  /** Proven peers offered lanes. */
  #laned = 0;
  readonly #warn: (message: string) => void;

  private constructor(path: string, server: NetServer, options: ServerOptions) {
    this.path = path;
    this.#server = server;
    this.#options = options;
    this.#limits = options.limits ?? peerLimits();
    const log = options.log ?? ((m: string) => process.emitWarning(m));
    this.#warn = rateLimited((message) => log(`procsafe: ${message}`));
  }

  static listen(options: ServerOptions): Promise<Server> {
    const path = options.path ?? newSocketPath();
    const net = createServer();
    const server = new Server(path, net, options);
    net.on('connection', (socket) => server.#accept(socket));
    return new Promise((resolve, reject: (reason: Error) => void) => {
      net.once('error', reject);
      net.listen(path, () => {
        net.off('error', reject);
        // bind() gives the socket 0777 less the umask, which a worker thread (the broker's) cannot set:
        // so it is narrowed here; until then the 0700 directory keeps every other user out anyway.
        try {
          chmodSync(path, 0o600);
        } catch (error) {
          net.close();
          reject(error as Error);
          return;
        }
        // Out of descriptors despite the caps (the owner's own files took them): libuv drops the connection.
        net.on('error', (error) => server.#warn(`could not accept a peer on ${path}: ${error.message}`));
        net.unref();
        resolve(server);
      });
    });
  }

  /** Stops listening, cuts every peer off and removes the socket. A second call joins the first. */
  close(): Promise<void> {
    this.#closing ??= new Promise<void>((resolve) => {
      this.#server.close(() => resolve());
      for (const socket of this.#sockets) socket.destroy();
    }).finally(() => {
      try {
        unlinkSync(this.path);
      } catch {
        // already gone
      }
    });
    return this.#closing;
  }

  #accept(socket: Socket): void {
    this.#sockets.add(socket);
    socket.unref();
    const connection = new Connection(socket, kHandshakeMaxBytes, this.#options.piecesFrom);
    // At the cap the oldest connection still in its handshake goes: a flood only ever evicts itself,
    // while an honest peer proves its secret within a round trip.
    if (this.#unproven.size >= this.#limits.unproven) {
      const oldest = this.#unproven.values().next().value as Connection;
      this.#unproven.delete(oldest);
      oldest.destroy(new Error(
        `evicted: ${this.#limits.unproven} connections were waiting to prove a secret, the most this owner holds`));
    }
    this.#unproven.add(connection);
    let counted = false;
    let laned = false;
    socket.once('close', () => {
      this.#sockets.delete(socket);
      this.#unproven.delete(connection);
      this.#reserved.delete(connection);
      if (counted) this.#proven--;
      if (laned) this.#laned--;
    });
    const nonce = newNonce();
    let proven = false;
    // Not an accusation: an honest peer whose thread was blocked is late too, and connects again.
    const timer = setTimeout(() => connection.destroy(
      new Error(`did not complete the handshake within ${kHandshakeDeadlineMs / 1000} s`)), kHandshakeDeadlineMs);
    timer.unref();
    connection.listen({
      frame: (frame) => {
        if (proven) return;
        clearTimeout(timer);
        this.#unproven.delete(connection);
        if (frame.type !== kHandshake.Auth || !this.#options.verify(frame.fn, nonce, frame.payload)) {
          connection.destroy(new Error(
            frame.type === kHandshake.Auth ? 'wrong proof of the secret' : `frame type ${frame.type} before the handshake`));
          return;
        }
        if (this.#options.reserved?.(frame.fn) === true) {
          this.#reserve(connection);
        } else if (this.#proven >= this.#limits.proven) {
          connection.destroy(new Error(`${this.#proven} peers are connected, the most this owner takes with its limit of ` +
            `${this.#limits.fdLimit} open files; raise that limit (ulimit -n) in the owner`));
          return;
        } else {
          this.#proven++;
          counted = true;
        }
        proven = true;
        connection.maxMessageBytes = this.#options.maxMessageBytes;
        connection.limitUnread(kUnreadBytes, kUnreadWrites);
        connection.pause();
        connection.send([encodeBare(kHandshake.Welcome, 0)]);
        // Status readers ask a question and go: lanes would cost them more than they save.
        // Within a budget: a peer on lanes holds two more fds here (the bells), and past it the socket serves, as it
        // would without the addon, rather than the owner running out of descriptors.
        const lanesDir = this.#options.lanesDir;
        if (lanesDir !== undefined && counted && this.#laned < Math.floor(this.#limits.proven / 3) &&
          connection.offerLanes(lanesDir, laneName(nonce))) {
          laned = true;
          this.#laned++;
        }
        this.#options.onPeer(connection, this.#nextPeerId++, { object: frame.fn, nonce });
      },
      close: (reason) => {
        clearTimeout(timer);
        // A peer that died mid-handshake is no news; one that failed the proof or sent garbage is.
        if (!proven && isPeerFault(reason)) this.#warn(`refused a peer on ${this.path}: ${reason.message}`);
      },
    });
    const hello = encodeBare(kHandshake.Hello, 0, nonce.length);
    nonce.copy(hello, hello.length - nonce.length);
    connection.send([hello]);
  }

  /** A status reader: its own slots, where the oldest makes room for a new one. */
  #reserve(connection: Connection): void {
    if (this.#reserved.size >= this.#limits.reserved) {
      const oldest = this.#reserved.values().next().value as Connection;
      this.#reserved.delete(oldest);
      oldest.destroy(new Error('evicted: a newer status reader came'));
    }
    this.#reserved.add(connection);
  }
}
