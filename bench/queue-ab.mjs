// One Queue case at a time, for A/B work on the queue's data path (not part of `npm run bench`):
//   npm run build && [PREFETCH=16] node bench/queue-ab.mjs stream [SIZE_BYTES=8] [N=100000] [RUNS=3]
//                    node bench/queue-ab.mjs latency [INTERVAL_MS=1] [N=2000] [RUNS=3]
//   [PING_WARMUP=500] node bench/queue-ab.mjs ping [N=3000] [RUNS=3]
//                    node bench/queue-ab.mjs lock [N=10000] [RUNS=3]   (acquire + release in a child)
//                    node bench/queue-ab.mjs relay [N=3000] [RUNS=3]   (the ping-pong's bare-socket floor)
//                    node bench/queue-ab.mjs relay-stream [SIZE=8] [N=100000] [ACK=1] [RUNS=3]   (the stream's)
// The same layout and children as bench/queue.mjs: this process owns the queues (its broker
// thread), and a producer and a consumer `Process` (or the two ping-pong sides) use them. Prints
// one line per run; a stream's line ends with the CPU time per item of each side (the owner's
// includes its idle main thread and V8's helper threads, which do much of its garbage collection)
// and, on Linux, the read and write system calls per item of each side. Wrap it in
// `/usr/bin/time -f '%e s, user %U, sys %S'` to see the kernel's share (at 100 KiB, about 40% of
// it: copies and page faults). PROF_DIR=dir makes each child write a CPU profile there, and the broker
// thread's (broker-*.cpuprofile). The children inherit this process's node flags; CHILD_ARGV="--flag …"
// gives them those instead (`node --interrupt-budget=4000 bench/queue-ab.mjs ping` flags all three,
// CHILD_ARGV="--no-warnings" beside it the owner alone).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadProcsafe } from './lib/common.mjs';
import { profileBroker, rawRelay, rawRelayStream, runChildren } from './queue.mjs';
import { syscalls } from './workers/queue-tasks.mjs';

const [mode = 'stream', ...rest] = process.argv.slice(2);
const numbers = rest.map(Number);
const { Event, Lock, Queue } = await loadProcsafe();
const dir = mkdtempSync(join(tmpdir(), 'procsafe-queue-ab-'));
const readJson = (file) => JSON.parse(readFileSync(file, 'utf8'));

// The children's node flags: this process's own (which they inherit), or CHILD_ARGV's instead; PROF_DIR adds a profile.
const { CHILD_ARGV, PROF_DIR } = process.env;
const childArgv = CHILD_ARGV === undefined && PROF_DIR === undefined ? {}
  : { execArgv: [...(CHILD_ARGV?.split(' ').filter(Boolean) ?? process.execArgv), ...(PROF_DIR ? ['--cpu-prof', `--cpu-prof-dir=${PROF_DIR}`] : [])] };

/**
 * The children of one case, through bench/queue.mjs's runner: a failed child or a run past 120 s
 * kills the others. With PROF_DIR the broker thread is profiled too, through the inspector
 * (--cpu-prof does not reach it).
 */
const run = async (specs) => {
  const stopBroker = PROF_DIR ? await profileBroker() : undefined;
  try {
    await runChildren(specs.map(([fn, args]) => ({ fn, args, ...childArgv })), 120_000, mode);
  } finally {
    if (stopBroker) writeFileSync(join(PROF_DIR, `broker-${Date.now()}.cpuprofile`), JSON.stringify(await stopBroker()));
  }
};

const cases = {
  async stream(size = 8, n = 100_000) {
    const q = new Queue();
    const ready = new Event();
    const common = { size, n, warmup: Math.min(5_000, n) };
    const ownerCpu = process.cpuUsage();
    const ownerCalls = syscalls();
    // As bench/queue.mjs: at most two batches of puts unanswered, about 8 MiB.
    const batch = Math.max(1, Math.min(512, Math.floor(4 * 1024 * 1024 / size)));
    const [producerOut, consumerOut] = [join(dir, 'producer.json'), join(dir, 'consumer.json')];
    await run([['streamConsumer', [q, ready, { ...common, prefetch: Number(process.env.PREFETCH ?? 16), out: consumerOut }]], ['streamProducer', [q, ready, { ...common, batch, out: producerOut }]]]);
    await q.close();
    const [producer, consumer] = [readJson(producerOut), readJson(consumerOut)];
    const seconds = Number(BigInt(consumer.t1) - BigInt(producer.t0)) / 1e9;
    // CPU per item over the whole run (warm-up and start-up included): this process is the broker's.
    const { user, system } = process.cpuUsage(ownerCpu);
    const per = (cpu) => ((cpu.user + cpu.system) / (n + common.warmup)).toFixed(1);
    const ownerNow = syscalls();
    // Linux adds a reaped child's counts to its parent's: take the children's (their own, at exit) back out.
    const others = (key) => (producer.syscalls?.[key] ?? 0) + (consumer.syscalls?.[key] ?? 0);
    const owner = ownerCalls && ownerNow && { reads: ownerNow.reads - ownerCalls.reads - others('reads'), writes: ownerNow.writes - ownerCalls.writes - others('writes') };
    const calls = (io) => (io === undefined ? '?' : `${(io.reads / (n + common.warmup)).toFixed(2)} reads, ${(io.writes / (n + common.warmup)).toFixed(2)} writes`);
    return `${n} items of ${size} B in ${seconds.toFixed(3)} s: ${Math.round(n / seconds)} items/s, ${Math.round(n * size / seconds / 1e6)} MB/s; ` +
      `CPU µs per item: producer ${per(producer.cpu)}, owner ${per({ user, system })}, consumer ${per(consumer.cpu)}; ` +
      `system calls per item: producer ${calls(producer.syscalls)}, owner ${calls(owner)}, consumer ${calls(consumer.syscalls)}`;
  },
  async latency(intervalMs = 1, n = 2_000) {
    const q = new Queue();
    const out = join(dir, 'latency.json');
    await run([['latencyConsumer', [q, { n, warmup: 200, out }]], ['latencyProducer', [q, { n, warmup: 200, intervalMs }]]]);
    await q.close();
    const ns = readJson(out).ns.sort((a, b) => a - b);
    const at = (p) => (ns[Math.min(ns.length - 1, Math.floor(ns.length * p))] / 1e3).toFixed(1);
    return `put -> get, one item per ${intervalMs} ms: median ${at(0.5)} µs, p90 ${at(0.9)}, p99 ${at(0.99)}`;
  },
  async ping(n = 3_000) {
    const [q1, q2] = [new Queue(), new Queue()];
    const out = join(dir, 'ping.json');
    const warmup = Number(process.env.PING_WARMUP ?? 500);
    await run([['pingB', [q1, q2, { total: warmup + n }]], ['pingA', [q1, q2, { n, warmup, out }]]]);
    await Promise.all([q1.close(), q2.close()]);
    const { t0, t1 } = readJson(out);
    return `ping-pong through two queues: ${(Number(BigInt(t1) - BigInt(t0)) / 1e3 / n).toFixed(1)} µs per round trip`;
  },
  // As bench/queue.mjs's Lock row: a child acquires and releases, uncontended.
  async lock(n = 10_000) {
    const lock = new Lock();
    const out = join(dir, 'lock.json');
    await run([['lockLoop', [lock, { n, warmup: 1000, out }]]]);
    const { t0, t1 } = readJson(out);
    return `lock acquire + release in a child process: ${(Number(BigInt(t1) - BigInt(t0)) / 1e3 / n).toFixed(1)} µs`;
  },
  // The stream's floor: bare sockets through a thread, the reader writing one commit per item (ACK=1) or none.
  async 'relay-stream'(size = 8, n = 100_000, ack = 1) {
    const seconds = await rawRelayStream({ dir }, size, n, Math.min(5_000, n), ack === 1);
    return `raw relay stream of ${size} B items${ack === 1 ? ', one commit write per item' : ''}: ${Math.round(n / seconds)} items/s`;
  },
  // The ping-pong's floor: the same topology on bare sockets through a thread of this process.
  async relay(n = 3_000) {
    const [us] = await rawRelay({ dir }, n, 500, 1);
    return `raw relay ping-pong through a thread: ${us.toFixed(1)} µs per round trip`;
  },
};

const measure = cases[mode];
if (measure === undefined) {
  console.error(`unknown case "${mode}": choose one of ${Object.keys(cases).join(', ')}`);
  process.exit(2);
}
// The runs count is the argument after the case's own ones (defaults do not count in .length).
const own = { stream: 2, latency: 2, ping: 1, lock: 1, relay: 1, 'relay-stream': 3 }[mode];
const runs = numbers[own] ?? 3;
try {
  for (let i = 1; i <= runs; i++) console.log(`run ${i}: ${await measure(...numbers.slice(0, own))}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
process.exit(0);
