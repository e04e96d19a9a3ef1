// The owner's main-thread side: starts the broker thread on first use and announces each object created here. A
// constructor (`new Queue()`) must be synchronous and its handle usable at once, so the socket path, object id and secret
// are chosen here; a client that arrives before the thread listens retries while this process lives (broker/link.ts).
import { closeSync, openSync, unlinkSync } from 'node:fs';
import { dirname } from 'node:path';
import { MessageChannel, type MessagePort, Worker } from 'node:worker_threads';
import type { Handle, HandleKind } from '../codec/handles.js';
import { ProcsafeError } from '../errors.js';
import { newSecret } from '../transport/auth.js';
import { newSocketPath } from '../transport/endpoint.js';
import { prepareSpillDir } from '../queue/spill.js';
import { prepareOwnerDir } from '../transport/shared-dir.js';
import { loadNative } from '../native/load.js';
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
  const broker = start(kind);
  registerOwner(kind); // for `procsafe status` (status/registry.ts)
  // Before the handle exists: a writer that finds no directory sends large items through the socket.
  if (kind === 'queue' || kind === 'joinable-queue' || kind === 'simple-queue' || kind === 'pipe') prepareSpillDir(broker.path);
  // Its connections' lanes live there too (transport/lanes/). Without the addon, the one line saying so is written here:
  // the broker thread, which would use it, stays quiet.
  if (loadNative() !== undefined) prepareOwnerDir(broker.path);
  const handle: Handle = {
    kind, path: broker.path, pid: process.pid, object: String(nextObject++), secret: newSecret(), maxMessageBytes, size,
  };
  const message: ToBroker = { type: 'create', spec: { kind, object: handle.object, secret: handle.secret, maxMessageBytes, size } };
  broker.port.postMessage(message);
  return handle;
}

function start(kind: HandleKind): Running {
  if (running !== undefined) return running;
  const path = bindablePath(kind);
  // `procsafe status` reads this owner's objects from the broker thread, proving this secret (broker/status-server.ts).
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
      case 'failed':
        process.emitWarning(`procsafe: the broker could not listen on ${path}: ${message.message}; its objects are ` +
          'unreachable. Free space there, or point XDG_RUNTIME_DIR (or TMPDIR) at a directory with room', 'ProcsafeWarning');
        break;
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

/** The longest socket path bind() takes (sun_path less its NUL). */
const kMaxSocketPath = process.platform === 'linux' ? 107 : 103;

// A socket path the broker thread will be able to bind, checked now: the thread binds later, where a failure would reach
// clients only as BrokerLost once their startup grace ran out. A full, read-only or missing runtime directory fails the
// creating call at once instead, with the real cause.
function bindablePath(kind: HandleKind): string {
  let path: string | undefined;
  try {
    path = newSocketPath();
    if (Buffer.byteLength(path) > kMaxSocketPath) {
      throw Object.assign(new Error(`ENAMETOOLONG: the socket path ${path} is over the ${kMaxSocketPath} bytes a Unix socket takes`),
        { code: 'ENAMETOOLONG' });
    }
    // bind() needs a new inode in the directory: a file created and removed at once proves there is one.
    closeSync(openSync(path, 'wx', 0o600));
    unlinkSync(path);
    return path;
  } catch (error) {
    const where = path === undefined ? 'the runtime directory' : dirname(path);
    throw new ProcsafeError(`cannot create the socket of this ${kind} in ${where}: ${(error as Error).message}; ` +
      'free space (or inodes) there, or point XDG_RUNTIME_DIR (or TMPDIR) at a directory with room', { cause: error });
  }
}
