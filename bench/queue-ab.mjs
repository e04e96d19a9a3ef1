// One Queue stream case, for A/B work on the queue's data path (not part of `npm run bench`):
//   npm run build && node bench/queue-ab.mjs [SIZE_BYTES=8] [N=100000] [RUNS=3]
// The same layout as bench/queue.mjs: this process owns the Queue (its broker thread), one
// producer and one consumer `Process` stream N items of SIZE bytes after a warm-up. Prints
// items/s per run. Wrap it in `/usr/bin/time -f '%e s, user %U, sys %S'` to see where the CPU
// goes across all three (at 100 KiB, half of it is kernel time: copies and page faults).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadProcsafe } from './lib/common.mjs';

const [size = 8, n = 100_000, runs = 3] = process.argv.slice(2).map(Number);
const warmup = Math.min(5_000, n);
const kTasks = new URL('./workers/queue-tasks.mjs', import.meta.url);
const { Event, Process, Queue } = await loadProcsafe();
const dir = mkdtempSync(join(tmpdir(), 'procsafe-queue-ab-'));
try {
  for (let run = 1; run <= runs; run++) {
    const q = new Queue();
    const ready = new Event();
    const producerOut = join(dir, `producer-${run}.json`);
    const consumerOut = join(dir, `consumer-${run}.json`);
    // As bench/queue.mjs: at most two batches of puts unanswered, about 8 MiB.
    const batch = Math.max(1, Math.min(512, Math.floor(4 * 1024 * 1024 / size)));
    const common = { size, n, warmup };
    const consumer = new Process({ module: kTasks, fn: 'streamConsumer', args: [q, ready, { ...common, prefetch: 16, out: consumerOut }] });
    const producer = new Process({ module: kTasks, fn: 'streamProducer', args: [q, ready, { ...common, batch, out: producerOut }] });
    await consumer.start();
    await producer.start();
    const exits = await Promise.all([consumer.join(), producer.join()]);
    if (exits.some((exit) => exit.exitCode !== 0)) throw new Error(`a child failed: ${JSON.stringify(exits)}`);
    const seconds = Number(BigInt(JSON.parse(readFileSync(consumerOut, 'utf8')).t1) - BigInt(JSON.parse(readFileSync(producerOut, 'utf8')).t0)) / 1e9;
    console.log(`run ${run}: ${n} items of ${size} B in ${seconds.toFixed(3)} s: ${Math.round(n / seconds)} items/s, ${Math.round(n * size / seconds / 1e6)} MB/s`);
    await q.close();
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
process.exit(0);
