/**
 * The broker thread: serves the owner's objects on its Unix socket, off the
 * owner's main thread. The main thread announces objects on `port` (in order,
 * before any handle can leave the process), and gets the broker's logs back.
 */
import { type MessagePort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import { rateLimited } from '../internal/log.js';
import { kStatusObject, serveStatus } from './status-server.js';
import { verifyProof } from '../transport/auth.js';
import { Server } from '../transport/server.js';
import { OwnerSpills } from '../queue/spill.js';
import { sharedDirFor } from '../transport/shared-dir.js';
import { Broker, kPiecesFrom, type ObjectSpec } from './broker.js';

export type ToBroker = { readonly type: 'create'; readonly spec: ObjectSpec };
export type FromBroker =
  | { readonly type: 'ready' }
  | { readonly type: 'failed'; readonly message: string }
  | { readonly type: 'log'; readonly message: string };

const { path, port, statusSecret } = workerData as { path: string; port: MessagePort; statusSecret: string };
const post = (message: FromBroker): void => port.postMessage(message);
// Peers cut off by the broker (garbage, answers left unread) can come by the thousand: a few lines, then a count.
const cutOff = rateLimited((message) => post({ type: 'log', message: `procsafe: ${message}` }));

const broker = new Broker({
  // A peer may name an object whose announcement is still in the port: read it first.
  drain: () => {
    for (let message = receiveMessageOnPort(port); message !== undefined; message = receiveMessageOnPort(port)) {
      onMessage(message.message as ToBroker);
    }
  },
  log: cutOff,
  spills: new OwnerSpills(path),
  sharedDir: sharedDirFor(path),
});

function onMessage(message: ToBroker): void {
  broker.create(message.spec);
}

port.on('message', onMessage);

try {
  await Server.listen({
    path,
    maxMessageBytes: 1024,
    piecesFrom: kPiecesFrom,
    // `procsafe status` proves the owner's status secret on a pseudo object (broker/status-server.ts).
    verify: (object, nonce, proof) =>
      (object === kStatusObject ? verifyProof(statusSecret, nonce, proof) : broker.verify(object, nonce, proof)),
    onPeer: (connection, id, opened) => (opened.object === kStatusObject
      ? serveStatus(connection, () => broker.inspect(), () => broker.paths())
      : broker.accept(connection, id, opened)),
    log: (message) => post({ type: 'log', message }),
    // Each peer is offered lanes in shared memory; without the addon or the directory, the socket serves it.
    lanesDir: sharedDirFor(path),
    reserved: (object) => object === kStatusObject,
  });
  post({ type: 'ready' });
} catch (error) {
  post({ type: 'failed', message: (error as Error).message });
}
