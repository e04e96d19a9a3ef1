/**
 * The entry of every spawned worker, process or thread. It reaches the parent
 * over the transport it was given and hands everything else to WorkerRuntime.
 * Children start fresh (spawn, never fork): no lock, thread or logger state of
 * the parent exists here, so fork-with-a-held-lock deadlocks cannot happen.
 */
import { writeSync } from 'node:fs';
import { Socket } from 'node:net';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { type ChildPort, WorkerRuntime } from './runtime.js';

const kFromParentFd = 3;
const kToParentFd = 4;
const kSleep = new Int32Array(new SharedArrayBuffer(4));

/**
 * Writes the whole frame before returning. fd 4 is this child's blocking end of
 * a socket pair (nothing else in the child touches it), so each result is in
 * the kernel before the next task starts.
 */
function writeAll(fd: number, frame: Buffer): void {
  let offset = 0;
  while (offset < frame.length) {
    try {
      offset += writeSync(fd, frame, offset, frame.length - offset);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') throw error;
      Atomics.wait(kSleep, 0, 0, 1);
    }
  }
}

if (isMainThread) {
  const ppid = process.ppid;
  const port: ChildPort = {
    send: (frame) => writeAll(kToParentFd, frame),
    // Die with the parent, however it dies: started once ready, so it does not slow the boot.
    ready: () => { new Worker(new URL('./watchdog.js', import.meta.url), { workerData: { ppid }, stdout: false, stderr: false }).unref(); },
    exit: (code) => process.exit(code),
  };
  const runtime = new WorkerRuntime(port);
  const input = new Socket({ fd: kFromParentFd, readable: true, writable: false });
  input.on('data', (chunk: Buffer) => runtime.receive(chunk));
  // The parent closed its end: it is gone or terminating us. Nothing is left to answer to.
  input.on('end', () => process.exit(0));
  input.on('error', () => process.exit(0));
} else if (parentPort !== null) {
  const parent = parentPort;
  const progress = new Int32Array((workerData as { progress: SharedArrayBuffer }).progress);
  let outbox: Buffer[] = [];
  let outboxBytes = 0;
  const post = (frame: Buffer): void => {
    // A frame from the v8 serializer owns its memory and can be moved, not copied.
    if (frame.byteOffset === 0 && frame.byteLength === frame.buffer.byteLength && frame.length > 65536) parent.postMessage(frame, [frame.buffer as ArrayBuffer]);
    else parent.postMessage(frame);
  };
  const port: ChildPort = {
    send: (frame) => {
      outbox.push(frame);
      outboxBytes += frame.length;
      if (outboxBytes > 1 << 20) port.flush?.();
    },
    started: (id) => Atomics.store(progress, 0, id | 0),
    flush: () => {
      if (outbox.length === 0) return;
      const frames = outbox;
      outbox = [];
      outboxBytes = 0;
      post(frames.length === 1 ? (frames[0] as Buffer) : Buffer.concat(frames));
    },
    exit: (code) => process.exit(code),
  };
  const runtime = new WorkerRuntime(port);
  parent.on('message', (data: Uint8Array) => runtime.receive(Buffer.from(data.buffer, data.byteOffset, data.byteLength)));
}
