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

/**
 * Connects to an owner's socket and proves the secret of `object`. Resolves with
 * the proven link; rejects BrokerLost if the owner is gone or refuses.
 */
export function connect(path: string, object: string, secret: string, maxMessageBytes: number, timeoutMs = 5_000): Promise<Proven> {
  return new Promise((resolve, reject) => {
    const socket = netConnect(path);
    const connection = new Connection(socket, maxMessageBytes);
    const fail = (why: string): void => {
      clearTimeout(timer);
      connection.destroy();
      reject(new BrokerLost(`cannot reach the owner at ${path}: ${why}; the process that created the object has probably exited`));
    };
    const timer = setTimeout(() => fail(`no answer within ${timeoutMs} ms`), timeoutMs);
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
          fail(`unexpected frame type ${frame.type} during the handshake`);
        }
      },
      close: (reason) => fail(reason?.message ?? 'the connection was closed (wrong secret?)'),
    });
  });
}

/** The frame that opens `object` on a link: its name and HMAC(secret, the link's nonce). */
export function authFrame(object: string, secret: string, nonce: Buffer): Buffer {
  const head = encodeHead(kHandshake.Auth, 0, object, 32);
  proof(secret, nonce).copy(head, head.length - 32);
  return head;
}
