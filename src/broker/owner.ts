/**
 * The owner's main-thread side: starts the broker thread on first use and
 * announces each object created here. A constructor (`new Queue()`) must be
 * synchronous and its handle usable at once, so the socket path, object id and
 * secret are chosen here; a client that arrives before the thread listens
 * retries while this process is alive (broker/link.ts).
 */
import { MessageChannel, type MessagePort, Worker } from 'node:worker_threads';
import type { Handle, HandleKind } from '../codec/handles.js';
import { newSecret } from '../transport/auth.js';
import { newSocketPath } from '../transport/endpoint.js';
import { prepareSpillDir } from '../queue/spill.js';
import { registerBroker, registerOwner } from '../status/registry.js';
import type { FromBroker, ToBroker } from './thread.js';

interface Running {
  readonly path: string;
  readonly worker: Worker;
  readonly port: MessagePort;
}

let running: Running | undefined;
let nextObject = 1;

/** A new object owned by this process, served by its broker thread. */
export function createObject(kind: HandleKind, size: number, maxMessageBytes: number): Handle {
  const broker = start();
  registerOwner(kind); // for `procsafe status` (status/registry.ts)
  // Before the handle exists: a writer that finds no directory sends large items through the socket.
  if (kind === 'queue' || kind === 'joinable-queue') prepareSpillDir(broker.path);
  const handle: Handle = { kind, path: broker.path, pid: process.pid, object: String(nextObject++), secret: newSecret(), maxMessageBytes, size };
  const message: ToBroker = { type: 'create', spec: { kind, object: handle.object, secret: handle.secret, maxMessageBytes, size } };
  broker.port.postMessage(message);
  return handle;
}

function start(): Running {
  if (running !== undefined) return running;
  const path = newSocketPath();
  // `procsafe status` reads this owner's objects from the broker thread, proving this secret (status/serve.ts).
  const statusSecret = newSecret();
  registerBroker(path, statusSecret);
  const { port1, port2 } = new MessageChannel();
  // No loaders or flags of the app: the broker is plain compiled JavaScript.
  const worker = new Worker(new URL('./thread.js', import.meta.url), {
    workerData: { path, port: port2, statusSecret }, transferList: [port2], execArgv: [], name: 'procsafe broker',
  });
  const broker: Running = { path, worker, port: port1 };
  port1.on('message', (message: FromBroker) => {
    switch (message.type) {
      case 'log': process.emitWarning(message.message, 'ProcsafeWarning'); break;
      case 'failed': process.emitWarning(`procsafe: the broker could not listen on ${path}: ${message.message}`, 'ProcsafeWarning'); break;
      case 'ready': break;
    }
  });
  // The broker serves for as long as the process lives, but never keeps it alive.
  port1.unref();
  worker.unref();
  worker.on('error', (error) => process.emitWarning(`procsafe: the broker thread failed: ${error.message}`, 'ProcsafeWarning'));
  worker.on('exit', () => { if (running === broker) running = undefined; });
  running = broker;
  return broker;
}
