// Process targets for bench/queue.mjs. Each runs in its own child (`new Process({ module, fn, args })`),
// receives queues, events and locks owned by the bench's main process as arguments, and writes what
// it measured as JSON to `out`. Times are process.hrtime.bigint(): CLOCK_MONOTONIC, which every process
// on the machine shares (Python's time.monotonic_ns() reads the same clock), so a timestamp taken in
// one process can be subtracted from one taken in another.
import { readFileSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

const now = () => process.hrtime.bigint();

function report(out, data) {
  // The process's CPU time in all (µs) and its read and write system calls (Linux), for A/B runs
  // that compare them per item (bench/queue-ab.mjs).
  writeFileSync(out, JSON.stringify({ ...data, cpu: process.cpuUsage(), syscalls: syscalls() }, (_, v) => (typeof v === 'bigint' ? v.toString() : v)));
}

/** This process's read and write system calls so far, from /proc/self/io; undefined where there is none. */
export function syscalls() {
  try {
    const io = readFileSync('/proc/self/io', 'utf8');
    return { reads: Number(/syscr: (\d+)/.exec(io)[1]), writes: Number(/syscw: (\d+)/.exec(io)[1]) };
  } catch {
    return undefined;
  }
}

/** Puts `count` copies of `item`, keeping at most two batches of `batch` puts unanswered. */
async function putAll(q, item, count, batch) {
  let previous;
  for (let i = 0; i < count; i += batch) {
    const puts = [];
    for (let j = i; j < Math.min(count, i + batch); j++) puts.push(q.put(item));
    if (previous) await previous;
    previous = Promise.all(puts);
  }
  await previous;
}

/** Streaming, writer: `warmup` items, wait for the reader to have them all, then `n` timed items. */
export async function streamProducer(q, ready, { size, n, warmup, batch, out }) {
  const item = Buffer.alloc(size, 0x61);
  await putAll(q, item, warmup, batch);
  await ready.wait();
  const t0 = now();
  await putAll(q, item, n, batch);
  report(out, { t0, putsAccepted: now() });
}

/** Streaming, reader: `for await` with read-ahead until it has warmup + n items; times the last one. */
export async function streamConsumer(q, ready, { size, n, warmup, prefetch, out }) {
  let count = 0;
  let t1;
  for await (const item of q.iterate({ prefetch })) {
    if (item.length !== size) throw new Error(`item ${count} has ${item.length} bytes; expected ${size}`);
    count++;
    if (count === warmup) await ready.set();
    if (count === warmup + n) {
      t1 = now();
      break;
    }
  }
  report(out, { t1, count });
}

/** Latency, writer: one 8-byte item at a time carrying its send time, `intervalMs` apart. */
export async function latencyProducer(q, { n, warmup, intervalMs }) {
  for (let i = 0; i < warmup + n; i++) {
    const item = Buffer.allocUnsafe(8);
    item.writeBigInt64LE(now());
    await q.put(item);
    await sleep(intervalMs);
  }
}

/** Latency, reader: receive time minus send time of every item after the warm-up, in ns. */
export async function latencyConsumer(q, { n, warmup, out }) {
  const ns = [];
  let count = 0;
  for await (const item of q) {
    const latency = now() - item.readBigInt64LE(0);
    if (count++ >= warmup) ns.push(Number(latency));
    if (count === warmup + n) break;
  }
  report(out, { ns });
}

/** Ping-pong, side A: put to q1, get the answer from q2; the put and the get leave in one write. */
export async function pingA(q1, q2, { n, warmup, out }) {
  const round = async (i) => {
    const put = q1.put(i);
    const answer = await q2.get();
    await put;
    if (answer !== i) throw new Error(`ping ${i} came back as ${answer}`);
  };
  for (let i = 0; i < warmup; i++) await round(i);
  const t0 = now();
  for (let i = 0; i < n; i++) await round(i);
  report(out, { t0, t1: now() });
}

/** Ping-pong, side B: get from q1, put it to q2 (the put and the next get leave in one write). */
export async function pingB(q1, q2, { total }) {
  let put = Promise.resolve();
  for (let i = 0; i < total; i++) {
    const item = await q1.get();
    await put;
    put = q2.put(item);
  }
  await put;
}

/**
 * Lock, contended: two of these run at once on one lock, each acquiring and releasing `n` times once both are ready
 * (`ready` counts them in, `go` lets them start); each reports its own span.
 */
export async function lockContend(lock, { n, warmup, ready, go, out }) {
  for (let i = 0; i < warmup; i++) (await lock.acquire()).release();
  await ready.put(process.pid);
  await go.wait();
  const t0 = now();
  for (let i = 0; i < n; i++) (await lock.acquire()).release();
  report(out, { t0, t1: now() });
}

/** Lock: acquire + release in a loop; the release and the next acquire leave in one write. */
export async function lockLoop(lock, { n, warmup, out }) {
  for (let i = 0; i < warmup; i++) (await lock.acquire()).release();
  const t0 = now();
  for (let i = 0; i < n; i++) (await lock.acquire()).release();
  report(out, { t0, t1: now() });
}
