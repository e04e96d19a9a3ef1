/** The peer's side: connect to an owner's socket and prove the secret. */
import { connect as netConnect } from 'node:net';
import { BrokerLost } from '../errors.js';
import { proof } from './auth.js';
import { Connection } from './connection.js';
import { encodeBare } from './frame.js';
import { kAuth, kHello, kWelcome } from './messages.js';

/** Resolves with a proven connection; rejects BrokerLost if the owner is gone or refuses. */
export function connect(path: string, secret: string, maxMessageBytes: number, timeoutMs = 5_000): Promise<Connection> {
  return new Promise((resolve, reject) => {
    const socket = netConnect(path);
    const connection = new Connection(socket, maxMessageBytes);
    const fail = (why: string): void => {
      clearTimeout(timer);
      connection.destroy();
      reject(new BrokerLost(`cannot reach the owner at ${path}: ${why}; the process that created the object has probably exited`));
    };
    const timer = setTimeout(() => fail(`no answer within ${timeoutMs} ms`), timeoutMs);
    connection.listen({
      frame: (frame) => {
        if (frame.type === kHello) {
          const auth = encodeBare(kAuth, 0, 32);
          proof(secret, frame.payload).copy(auth, auth.length - 32);
          connection.send([auth]);
        } else if (frame.type === kWelcome) {
          clearTimeout(timer);
          connection.pause();
          resolve(connection);
        } else {
          fail(`unexpected frame type ${frame.type} during the handshake`);
        }
      },
      close: (reason) => fail(reason?.message ?? 'the connection was closed (wrong secret?)'),
    });
  });
}
