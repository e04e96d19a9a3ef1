/**
 * `procsafe worker --redis URL --name NAME [-j N] [--lease-ms MS] MODULE`: a worker host for a Redis pool, with every
 * local guarantee (timeouts, memory caps, recycling, crash attribution). SIGTERM drains: the running tasks finish and
 * no new one is taken; a second SIGTERM, or SIGINT, stops at once and gives the tasks back to Redis uncharged.
 */
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { parseRedisUrl, redact, validateRedisTimeout } from '../../redis/connection.js';
import { kDefaultLeaseMs, validateRedisName } from '../../redis/queue-handle.js';
import { kMaxWorkers, resolvePoolOptions } from '../../pool/options.js';
import { RedisWorkerHost } from '../../redis/worker-host.js';
import { type Command, UsageError } from '../command.js';

export const kWorkerUsage =
  '  worker --redis URL --name NAME [-j N] [--lease-ms MS] MODULE\n' +
  '                       a worker host for the Redis pool NAME: runs its tasks in N workers (MODULE\'s exports)\n';

const kWorkerHelp =
  'Usage: procsafe worker --redis URL --name NAME [-j N] [--lease-ms MS] MODULE\n\n' +
  'Serves the Redis pool NAME (new Pool({ redis: URL, name: NAME, … }) on any machine) from N\n' +
  'worker processes running the exports of MODULE. Start as many hosts as you like. A host that\n' +
  'dies or is cut off loses its tasks to live hosts within 1.5 x the lease, each charged an attempt.\n\n' +
  'Signals: SIGTERM drains (running tasks finish, no new ones are taken, then exit 0); a second\n' +
  'SIGTERM, or SIGINT, stops at once and gives the running tasks back uncharged (exit 143 or 130).\n\n' +
  'Options:\n' +
  '  --redis URL        redis:// or rediss:// (TLS) URL\n' +
  '  --name NAME        the pool\'s name\n' +
  '  -j, --jobs N       workers (default: the number of CPUs)\n' +
  `  --lease-ms MS      how long this host keeps its tasks without renewing its lease (default ${kDefaultLeaseMs})\n` +
  '  --redis-timeout-ms MS  how long to wait for an unreachable Redis (default 30000)\n' +
  '  -h, --help         show this help\n';

export const worker: Command = async (args, io) => {
  const { values, positionals } = parseArgs({
    args,
    options: {
      redis: { type: 'string' },
      name: { type: 'string' },
      jobs: { type: 'string', short: 'j' },
      'lease-ms': { type: 'string' },
      'redis-timeout-ms': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: true,
  });
  if (values.help === true) {
    io.stdout.write(kWorkerHelp);
    return 0;
  }
  if (values.redis === undefined) throw new UsageError('worker', 'missing --redis URL');
  if (values.name === undefined) throw new UsageError('worker', 'missing --name NAME');
  if (positionals.length !== 1) throw new UsageError('worker', 'expected one MODULE, the worker module whose exports are the tasks');
  const url = values.redis;
  const name = values.name;
  const jobs = integer(values.jobs, '-j', 1, kMaxWorkers) ?? availableParallelism();
  const leaseMs = integer(values['lease-ms'], '--lease-ms', 30, 2 ** 31 - 1) ?? kDefaultLeaseMs;
  const redisTimeoutMs = integer(values['redis-timeout-ms'], '--redis-timeout-ms', 1, 2 ** 31 - 1);
  try {
    parseRedisUrl(url);
    validateRedisName(name);
  } catch (error) {
    throw new UsageError('worker', (error as Error).message.replace('`redis`', '--redis').replace('`name`', '--name'));
  }
  const module = pathToFileURL(resolve(positionals[0] as string));
  const local = resolvePoolOptions({ module, workers: jobs, name });
  const host = new RedisWorkerHost({
    url, name, leaseMs, redisTimeoutMs: validateRedisTimeout(redisTimeoutMs), local, sinks: { stdout: undefined, stderr: undefined },
    keepAlive: true,
  });
  let code = 0;
  let terms = 0;
  const onTerm = (): void => {
    if (++terms === 1) {
      io.stderr.write(`procsafe worker: SIGTERM: draining ${host.running} running task(s); SIGTERM again or SIGINT to stop now\n`);
      void host.drain();
    } else {
      code = 143;
      io.stderr.write('procsafe worker: stopping now; running tasks go back to the pool uncharged\n');
      void host.stop();
    }
  };
  const onInt = (): void => {
    code = 130;
    io.stderr.write('procsafe worker: SIGINT: stopping now; running tasks go back to the pool uncharged\n');
    void host.stop();
  };
  process.on('SIGTERM', onTerm);
  process.on('SIGINT', onInt);
  try {
    await host.ready;
    io.stderr.write(`procsafe worker: serving pool "${name}" at ${redact(url)} with ${jobs} worker(s), pid ${process.pid}\n`);
    await host.finished;
  } finally {
    process.off('SIGTERM', onTerm);
    process.off('SIGINT', onInt);
  }
  io.stderr.write('procsafe worker: stopped\n');
  return code;
};

function integer(text: string | undefined, flag: string, min: number, max: number): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new UsageError('worker', `${flag} must be an integer from ${min} to ${max}, got "${text}"`);
  }
  return value;
}
