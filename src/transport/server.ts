/**
 * The owner's listening side: a Unix socket in the 0700 runtime directory.
 * A peer is handed to the owner only after it proves it holds the secret; one
 * that fails, stalls, or sends garbage is cut off with a logged reason and
 * never disturbs the others.
 */
import { unlinkSync } from 'node:fs';
import { createServer, type Server as NetServer, type Socket } from 'node:net';
import { newNonce, verifyProof } from './auth.js';
import { Connection } from './connection.js';
import { newSocketPath } from './endpoint.js';
import { encodeBare } from './frame.js';
import { kAuth, kHello, kWelcome } from './messages.js';

const kHandshakeTimeoutMs = 5_000;

export interface ServerOptions {
  readonly secret: string;
  readonly maxMessageBytes: number;
  /** A proven peer, with the id the owner settles its debts by. */
  readonly onPeer: (connection: Connection, peerId: number) => void;
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
    const path = newSocketPath();
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
    const connection = new Connection(socket, this.#options.maxMessageBytes);
    const nonce = newNonce();
    let proven = false;
    const timer = setTimeout(() => connection.destroy(new Error(`no proof of the secret within ${kHandshakeTimeoutMs} ms`)), kHandshakeTimeoutMs);
    timer.unref();
    connection.listen({
      frame: (frame) => {
        if (proven) return;
        clearTimeout(timer);
        if (frame.type !== kAuth || !verifyProof(this.#options.secret, nonce, frame.payload)) {
          connection.destroy(new Error(frame.type === kAuth ? 'wrong proof of the secret' : `frame type ${frame.type} before the handshake`));
          return;
        }
        proven = true;
        connection.pause();
        connection.send([encodeBare(kWelcome, 0)]);
        this.#options.onPeer(connection, this.#nextPeerId++);
      },
      close: (reason) => {
        clearTimeout(timer);
        if (!proven && reason !== undefined) this.#log(`refused a peer on ${this.path}: ${reason.message}`);
      },
    });
    const hello = encodeBare(kHello, 0, nonce.length);
    nonce.copy(hello, hello.length - nonce.length);
    connection.send([hello]);
  }
}
