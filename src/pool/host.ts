// One running worker as bytes in, bytes out and an exit: a child process (host-process.ts) or a thread (host-thread.ts).
// The slot above it knows tasks; the host knows neither tasks nor pools.
import type { Writable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { describeSpawnFailure, kBootstrapPath } from '../child/spawn.js';
import { describeError } from '../codec/remote-error.js';
import type { OutputMode } from '../process/output.js';
import { kLengthBytes } from '../transport/frame.js';
import { encodeBootError } from '../child/protocol.js';

export interface HostExit {
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  /** What the runtime said killed it (a thread's uncaught error or OOM), if anything. */
  readonly error?: Error | undefined;
  /** A line of its stderr said V8 ran out of heap. */
  readonly outOfMemory?: boolean;
  /** The task it started last, when the host can tell (threads batch answers): answers before it may be lost. */
  readonly runningTaskId?: number | undefined;
}

export interface HostEvents {
  frame(body: Buffer): void;
  /** The host broke the protocol (garbage, oversized frame): it is killed, then exits. */
  protocolError(error: Error): void;
  /** Called once, after every frame the worker sent has been delivered. */
  exit(info: HostExit): void;
  /** The worker is gone, before exit() (its output may still be draining): it must be sent nothing more. */
  gone?(): void;
}

export interface HostOptions {
  readonly workerId: number;
  readonly name: string;
  readonly execArgv: readonly string[];
  readonly env: Readonly<Record<string, string>> | undefined;
  readonly maxMemoryMb: number | undefined;
  readonly stdout: OutputMode;
  readonly stderr: OutputMode;
  readonly stdoutSink: Writable | undefined;
  readonly stderrSink: Writable | undefined;
  readonly maxMessageBytes: number;
}

export interface WorkerHost {
  readonly pid: number | undefined;
  /** `[worker-3 4127]`: how its output and messages name it. */
  readonly label: string;
  /** Sends whole frames, in order. */
  send(frames: readonly Buffer[]): void;
  /** Ends it now (SIGKILL, or `worker.terminate()`). */
  kill(): void;
}

export { coalesce } from '../transport/frame.js';

export const kBootstrapUrl = pathToFileURL(kBootstrapPath);

// A worker that could not even start (EMFILE …) says so as one whose module failed to load: the pool fails waiting
// work with this frame body and backs off.
export function spawnFailedFrame(error: Error, subject: string): Buffer {
  const described = describeSpawnFailure(error, subject, '; the pool tries again when work arrives');
  return Buffer.concat(encodeBootError('import', describeError(described))).subarray(kLengthBytes);
}
