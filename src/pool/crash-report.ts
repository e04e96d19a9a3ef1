/** How the pool words what happened to a worker, and turns errors from the wire back into errors. */
import { neutralize, toRemoteError } from '../codec/remote-error.js';
import { type RemoteErrorInfo, SerializationError } from '../errors.js';
import type { HostExit } from './host.js';
import type { WorkerSlot } from './worker-slot.js';

export function describeWorker(slot: WorkerSlot): string {
  return `worker ${slot.id} (pid ${slot.pid ?? 'unknown'})`;
}

export function describeExit(info: HostExit): string {
  if (info.signal !== null) return `was killed by ${info.signal}`;
  if (info.exitCode === null) return `could not be started${info.error ? ` (${info.error.message})` : ''}`;
  return `exited with code ${info.exitCode}`;
}

// Errors from the wire become RemoteError, except our own serialization failures, which keep their class; their
// text is escaped as every remote text is (toRemoteError).
export function fromWire(info: RemoteErrorInfo): Error {
  if (info.name === 'SerializationError' && info.properties['code'] === 'ESERIALIZE') {
    const path = info.properties['path'];
    return new SerializationError(neutralize(String(info.message)), neutralize(typeof path === 'string' ? path : 'result'));
  }
  return toRemoteError(info);
}
