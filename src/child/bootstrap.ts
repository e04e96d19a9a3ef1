// Entry of every spawned worker, process or thread: reaches the parent over its transport, the rest is WorkerRuntime's.
// Spawned, never forked: no lock, thread or logger state of the parent exists here, so no fork-with-a-held-lock deadlock.
import { writeSync, writevSync } from 'node:fs';
import { Socket } from 'node:net';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { remainingAfter } from '../internal/chunks.js';
import { handleGate } from './handle-gate.js';
import type { ChildPort } from './port.js';
import { WorkerRuntime } from './runtime.js';

const kFromParentFd = 3;
const kToParentFd = 4;
const kSleep = new Int32Array(new SharedArrayBuffer(4));

// Writes the whole frame before returning, so each result is in the kernel before the next task starts. fd 4 is our
// blocking end of a socket pair, touched by nothing else; EAGAIN or a short write is still retried. Big parts go by writev.
function writeAll(fd: number, frame: Buffer | readonly Buffer[]): void {
  let chunks: readonly Buffer[] = Buffer.isBuffer(frame) ? [frame] : frame;
  while (chunks.length > 0) {
    let written: number;
    try {
      written = chunks.length === 1 ? writeSync(fd, chunks[0] as Buffer) : writevSync(fd, chunks);
    } catch (error) {
      // Node: https://github.com/nodejs/node/issues/12921
      if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') throw error;
      Atomics.wait(kSleep, 0, 0, 1);
      continue;
    }
    chunks = remainingAfter(chunks, written);
  }
}

// True for a frame head from the serializer: the whole of memory nobody else holds. A user's Buffer never comes
// alone (it follows a head), so it is never moved away from its owner.
function ownsMemory(buffer: Buffer): boolean {
  return buffer.byteOffset === 0 && buffer.byteLength === buffer.buffer.byteLength && buffer.byteLength > 4096;
}

// Exits once stdout and stderr have handed their buffered output over (at most 2 s): a pipe to the parent fills
// under many small writes, Node queues the rest, and a bare process.exit() would drop it.
// Node: https://github.com/nodejs/node/issues/53242
function exitAfterOutput(code: number): void {
  const deadline = Date.now() + 2_000;
  const check = (): void => {
    if (process.stdout.writableLength + process.stderr.writableLength === 0 || Date.now() > deadline) process.exit(code);
    else setTimeout(check, 5);
  };
  check();
}

const loadShareables = (): Promise<unknown> => import('./shareables.js');

if (isMainThread) {
  const ppid = process.ppid;
  // Die with the parent, however it dies: see watchdog.ts.
  const startWatchdog = (): void => {
    new Worker(new URL('./watchdog.js', import.meta.url), { workerData: { ppid }, stdout: false, stderr: false }).unref();
  };
  const parentGone = (): never => process.exit(0);
  const port: ChildPort = {
    send: (frame) => writeAll(kToParentFd, frame),
    // A pool worker starts it once ready, so it does not slow the boot.
    ready: startWatchdog,
    becomeProcess: (daemon) => {
      // Output may outlive its reader: the EPIPE 'error' would end us as an uncaught exception.
      // Node: https://github.com/nodejs/node/issues/947
      process.stdout.on('error', () => {});
      process.stderr.on('error', () => {});
      if (daemon) {
        // Still ends on the parent's EOF, but no longer keeps its own event loop alive.
        input.unref();
        startWatchdog();
      } else {
        // Nothing more comes from the parent, and its death is no reason to stop.
        input.off('end', parentGone).off('error', parentGone).on('error', () => {});
        input.destroy();
      }
    },
    exit: exitAfterOutput,
  };
  const runtime = new WorkerRuntime(port);
  const input = new Socket({ fd: kFromParentFd, readable: true, writable: false });
  input.on('data', handleGate((chunk) => runtime.receive(chunk), loadShareables));
  // The parent closed its end: it is gone or ending us, and nothing is left to answer to.
  input.on('end', parentGone);
  input.on('error', parentGone);
} else if (parentPort !== null) {
  const parent = parentPort;
  const progress = new Int32Array((workerData as { progress: SharedArrayBuffer }).progress);
  let outbox: Buffer[] = [];
  let outboxBytes = 0;
  const post = (frames: Buffer[], bytes: number): void => {
    if (frames.length === 1 && !ownsMemory(frames[0] as Buffer)) {
      parent.postMessage(frames[0]);
      return;
    }
    // Joined into memory of our own, which can then be moved rather than copied again.
    const joined = frames.length === 1 ? (frames[0] as Buffer) : Buffer.concat(frames, bytes);
    if (bytes > 65536) parent.postMessage(joined, [joined.buffer as ArrayBuffer]);
    else parent.postMessage(joined);
  };
  const port: ChildPort = {
    send: (frame) => {
      for (const chunk of Buffer.isBuffer(frame) ? [frame] : frame) {
        outbox.push(chunk);
        outboxBytes += chunk.length;
      }
      if (outboxBytes > 1 << 20) port.flush?.();
    },
    started: (id) => Atomics.store(progress, 0, id | 0),
    flush: () => {
      if (outbox.length === 0) return;
      const frames = outbox;
      const bytes = outboxBytes;
      outbox = [];
      outboxBytes = 0;
      post(frames, bytes);
    },
    exit: exitAfterOutput,
  };
  const runtime = new WorkerRuntime(port);
  const feed = handleGate((chunk) => runtime.receive(chunk), loadShareables);
  parent.on('message', (data: Uint8Array) => feed(Buffer.from(data.buffer, data.byteOffset, data.byteLength)));
}
