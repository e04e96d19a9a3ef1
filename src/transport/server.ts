/**
 * The owner's listening side: a Unix socket in the 0700 runtime directory.
 * A peer is handed to the owner only after it proves it holds the secret; one
 * that fails, stalls, or sends garbage is cut off with a logged reason and
 * never disturbs the others.
 */
import { unlinkSync } from 'node:fs';
import { createServer, type Server as NetServer, type Socket } from 'node:net';
import { newNonce } from './auth.js';
import { Connection, isPeerFault } from './connection.js';
import { newSocketPath } from './endpoint.js';
import { encodeBare } from './frame.js';
import { kHandshake, kHandshakeDeadlineMs } from './handshake.js';

/** Until a peer proves a secret it may send only the handshake: a few bytes. */
const kHandshakeMaxBytes = 1024;

export interface ServerOptions {
  /**
   * Whether `proof` is HMAC(secret of `object`, nonce): the peer names the object
   * it was handed and proves it holds that object's secret.
   */
  readonly verify: (object: string, nonce: Buffer, proof: Buffer) => boolean;
  /** The largest frame a proven peer may send. */
  readonly maxMessageBytes: number;
  /** Where to listen. @default a fresh path in the runtime directory */
  readonly path?: string;
  /**
   * A proven peer, with the id the owner settles its debts by, the object it
   * proved, and its nonce (to check proofs for further objects on the same link).
   */
  readonly onPeer: (connection: Connection, peerId: number, opened: { object: string; nonce: Buffer }) => void;
  /** Frames of at least this many bytes arrive in the pieces they came in (Frame.more). @default never */
  readonly piecesFrom?: number;
  /** Where reasons for refused or cut-off peers go. @default process.emitWarning */
  readonly log?: (message: string) => void;
}

export class Server {
  readonly path: string;
  readonly #server: NetServer;
  readonly #options: ServerOptions;
  readonly #sockets = new Set<Socket>();
  #nextPeerId = 1;
  #closing: Promise<void> | undefined;

  private constructor(path: string, server: NetServer, options: ServerOptions) {
    this.path = path;
    this.#server = server;
    this.#options = options;
  }

  static listen(options: ServerOptions): Promise<Server> {
    const path = options.path ?? newSocketPath();
    const net = createServer();
    const server = new Server(path, net, options);
    net.on('connection', (socket) => server.#accept(socket));
    return new Promise((resolve, reject) => {
      net.once('error', reject);
      net.listen(path, () => {
        net.off('error', reject);
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

  #log(message: string): void {
    (this.#options.log ?? ((m: string) => process.emitWarning(m)))(`procsafe: ${message}`);
  }

  #accept(socket: Socket): void {
    this.#sockets.add(socket);
    socket.once('close', () => this.#sockets.delete(socket));
    socket.unref();
    const connection = new Connection(socket, kHandshakeMaxBytes, this.#options.piecesFrom);
    const nonce = newNonce();
    let proven = false;
    // Not an accusation: an honest peer whose thread was blocked is late too, and connects again.
    const timer = setTimeout(() => connection.destroy(new Error(`did not complete the handshake within ${kHandshakeDeadlineMs / 1000} s`)), kHandshakeDeadlineMs);
    timer.unref();
    connection.listen({
      frame: (frame) => {
        if (proven) return;
        clearTimeout(timer);
        if (frame.type !== kHandshake.Auth || !this.#options.verify(frame.fn, nonce, frame.payload)) {
          connection.destroy(new Error(frame.type === kHandshake.Auth ? 'wrong proof of the secret' : `frame type ${frame.type} before the handshake`));
          return;
        }
        proven = true;
        connection.maxMessageBytes = this.#options.maxMessageBytes;
        connection.pause();
        connection.send([encodeBare(kHandshake.Welcome, 0)]);
        this.#options.onPeer(connection, this.#nextPeerId++, { object: frame.fn, nonce });
      },
      close: (reason) => {
        clearTimeout(timer);
        // A peer that died mid-handshake is no news; one that failed the proof or sent garbage is.
        if (!proven && isPeerFault(reason)) this.#log(`refused a peer on ${this.path}: ${reason.message}`);
      },
    });
    const hello = encodeBare(kHandshake.Hello, 0, nonce.length);
    nonce.copy(hello, hello.length - nonce.length);
    connection.send([hello]);
  }
}
