// A BullMQ worker process for bench/redis-pool.mjs: runs `inc` jobs (data.x + 1) at the given concurrency until killed.
import { Worker } from 'bullmq';

const [url, name, concurrency] = process.argv.slice(2);
const { hostname, port } = new URL(url);
const worker = new Worker(name, async (job) => job.data.x + 1, {
  connection: { host: hostname, port: Number(port), maxRetriesPerRequest: null },
  concurrency: Number(concurrency),
});
await worker.waitUntilReady();
process.stdout.write('ready\n');
process.on('SIGTERM', () => { void worker.close().then(() => process.exit(0)); });
