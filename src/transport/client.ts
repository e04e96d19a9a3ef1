/** The peer's side: connect to an owner's socket and prove the secret. */
import { connect as netConnect } from 'node:net';
import { BrokerLost } from '../errors.js';
import { proof } from './auth.js';
import { Connection } from './connection.js';
import { encodeHead } from './frame.js';
import { kHandshake } from './handshake.js';

export interface Proven {
  readonly connection: Connection;
  /** The owner's nonce for this link: proofs for further objects are HMACs of it. */
  readonly nonce: Buffer;
}

// Where a handshake failed, for broker/link.ts to weigh against the owner's pid: `unreachable`, nothing accepted the
// connection (no socket file, nothing listening, a full backlog); `cut`, the owner closed it before welcoming us;
// `garbage`, it sent what no owner sends; `timeout`, the caller's own limit passed.
export type HandshakeStage = 'unreachable' | 'cut' | 'garbage' | 'timeout';

export class HandshakeFailed extends BrokerLost {
  readonly stage: HandshakeStage;
  /** Wall time from our connect to the failure: a cut this late may be the owner's deadline, not a refusal. */
  readonly afterMs: number;

  constructor(message: string, stage: HandshakeStage, afterMs: number) {
    super(message);
    this.stage = stage;
    this.afterMs = afterMs;
  }
}

// Proves the secret of `object` on an owner's socket; rejects HandshakeFailed if the owner is unreachable or refuses.
// Without `timeoutMs` it waits for a live but silent owner (a stopped one) as long as the connection stays open.
export function connect(
  path: string, object: string, secret: string, maxMessageBytes: number, timeoutMs?: number, lanesDir?: string,
): Promise<Proven> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const socket = netConnect(path);
    let connected = false;
    socket.once('connect', () => { connected = true; });
    const connection = new Connection(socket, maxMessageBytes);
    if (lanesDir !== undefined) connection.acceptLanes(lanesDir);
    const fail = (why: string, stage: HandshakeStage): void => {
      clearTimeout(timer);
      connection.destroy();
      reject(new HandshakeFailed(
        `cannot reach the owner at ${path}: ${why}; the process that created the object has probably exited`,
        stage, Date.now() - started));
    };
    const timer = timeoutMs === undefined
      ? undefined
      : setTimeout(() => fail(`no answer within ${timeoutMs} ms`, 'timeout'), timeoutMs);
    let nonce = Buffer.alloc(0);
    connection.listen({
      frame: (frame) => {
        if (frame.type === kHandshake.Hello) {
          nonce = Buffer.from(frame.payload);
          connection.send([authFrame(object, secret, nonce)]);
        } else if (frame.type === kHandshake.Welcome) {
          clearTimeout(timer);
          connection.pause();
          resolve({ connection, nonce });
        } else {
          fail(`unexpected frame type ${frame.type} during the handshake`, 'garbage');
        }
      },
      close: (reason) => fail(reason?.message ?? 'the connection was closed (wrong secret?)', connected ? 'cut' : 'unreachable'),
    });
  });
}

/** The frame that opens `object` on a link: its name and HMAC(secret, the link's nonce). */
export function authFrame(object: string, secret: string, nonce: Buffer): Buffer {
  const head = encodeHead(kHandshake.Auth, 0, object, 32);
  proof(secret, nonce).copy(head, head.length - 32);
  return head;
}
