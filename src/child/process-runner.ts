// The child side of a Process: Run makes the bootstrap run one exported function once, then leave, as Python's Process
// runs its target. Uncaught errors are still reported by the WorkerRuntime that received Run.
import { inspect } from 'node:util';
import { describeError } from '../codec/remote-error.js';
import { encodeBare } from '../transport/frame.js';
import {
  type BootErrorMessage, encodeBootError, encodeErrorInfo, encodeReady, kFromChild, type RunMessage,
} from './protocol.js';
import { loadWorkerModule, lookupFunction } from './loader.js';
import type { ChildPort } from './port.js';
import { setIdentity } from '../internal/identity.js';

// Returning leaves the exit to the event loop, as a Node program's main does (pending timers and sockets finish);
// throwing reports the error, prints it as Node prints an uncaught one, and exits 1.
export async function runProcess(port: ChildPort, message: RunMessage): Promise<void> {
  port.becomeProcess?.(message.daemon);
  setIdentity({ name: message.name, daemon: message.daemon, parent: message.parent });
  // A Process answers if it can: a dead parent (EPIPE) is no reason for it to stop.
  const answer = (frame: Buffer | readonly Buffer[]): void => {
    try {
      port.send(frame);
    } catch {
      // the parent is gone
    }
  };
  let fn: (...args: unknown[]) => unknown;
  let phase: BootErrorMessage['phase'] = 'import';
  try {
    const module = await loadWorkerModule(message.module);
    phase = 'function';
    fn = lookupFunction(module, message.module, message.fn);
  } catch (error) {
    answer(encodeBootError(phase, describeError(error)));
    return port.exit(1);
  }
  // The parent needs only the signal, not the list of exports.
  answer(encodeReady([]));
  try {
    await fn(...message.args);
  } catch (error) {
    answer(encodeErrorInfo(kFromChild.Error, 0, describeError(error)));
    try {
      process.stderr.write(`Process ${message.name} (pid ${process.pid}) failed: ${inspect(error)}\n`);
    } catch {
      // stderr closed
    }
    return port.exit(1);
  }
  answer(encodeBare(kFromChild.OkUndefined, 0));
}
