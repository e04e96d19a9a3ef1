/**
 * A real redis-server for the Redis tests: on a free loopback port, in a temp dir of its own, stopped and removed in
 * the test's cleanup. Without the binary (a local run; CI installs it in .ci/run) the caller skips with the reason.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export interface RedisServerOptions {
  /** `appendonly yes`: every write is logged, and replayed by restart(). @default false */
  readonly appendonly?: boolean;
  /** @default 'always' when appendonly, as the tests that kill the server want nothing lost */
  readonly appendfsync?: 'always' | 'everysec' | 'no';
  /** Start as a Redis Cluster node (cluster.ts forms the cluster). @default false */
  readonly cluster?: boolean;
  /** Use this port (a restart or a cluster node); absent: a free one. */
  readonly port?: number;
  /** Use this directory (a cluster keeps one per node); absent: a new temp dir, removed at stop(). */
  readonly dir?: string;
}

export interface RedisServer {
  readonly url: string;
  readonly port: number;
  readonly dir: string;
  readonly pid: number;
  /** SIGTERM, wait for the exit, remove the dir (if it made it). Idempotent. */
  stop(): Promise<void>;
  /** Sends `signal` (SIGKILL, SIGSTOP, SIGCONT …) and, unless it only pauses it, waits for the exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts the server again on the same port and dir (an AOF is replayed); resolves when it answers PING. */
  restart(): Promise<void>;
}

/** Why the Redis tests cannot run here, or undefined when redis-server is installed. */
export function redisMissing(): string | undefined {
  const found = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  if (found.error !== undefined || found.status !== 0) {
    return `redis-server not installed: ${found.error?.message ?? found.stderr}; install it (apt-get install -y redis-server) ` +
      'to run the Redis tests (CI installs it in .ci/run)';
  }
  return undefined;
}

/** A port no one listens on now (the kernel's pick, given back at once). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Starts a redis-server; `t.after` stops it and removes its dir. */
export async function startRedis(
  t: { after: (fn: () => Promise<void> | void) => void }, options: RedisServerOptions = {},
): Promise<RedisServer> {
  const server = await launchRedis(options);
  t.after(() => server.stop());
  return server;
}

export async function launchRedis(options: RedisServerOptions = {}): Promise<RedisServer> {
  const port = options.port ?? await freePort();
  const ownDir = options.dir === undefined;
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'procsafe-redis-'));
  const args = [
    '--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--daemonize', 'no',
    '--logfile', join(dir, 'redis.log'), '--maxmemory-policy', 'noeviction',
  ];
  if (options.appendonly === true) args.push('--appendonly', 'yes', '--appendfsync', options.appendfsync ?? 'always');
  if (options.cluster === true) {
    args.push('--cluster-enabled', 'yes', '--cluster-config-file', join(dir, 'nodes.conf'), '--cluster-node-timeout', '2000');
  }
  let child: ChildProcess;
  let exited: Promise<void>;
  const start = async (): Promise<void> => {
    child = spawn('redis-server', args, { stdio: 'ignore' });
    exited = new Promise((resolve) => child.once('exit', () => resolve()));
    await waitForPing(port, child);
  };
  await start();
  let stopped = false;
  const server: RedisServer = {
    url: `redis://127.0.0.1:${port}`,
    port,
    dir,
    get pid() { return child.pid as number; },
    async kill(signal = 'SIGKILL') {
      child.kill(signal);
      if (signal !== 'SIGSTOP' && signal !== 'SIGCONT') await exited;
    },
    async restart() {
      await start();
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGCONT');
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
        await exited;
        clearTimeout(timer);
      }
      if (ownDir) rmSync(dir, { recursive: true, force: true });
    },
  };
  return server;
}

/** Resolves when the server answers PING (a raw RESP exchange, so the helper needs no client library). */
async function waitForPing(port: number, child: ChildProcess, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`redis-server on port ${port} exited (${child.exitCode ?? child.signalCode}) before answering PING`);
    }
    if (await pingOnce(port)) return;
    if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not answer PING within ${timeoutMs} ms`);
    await sleep(20);
  }
}

function pingOnce(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('error', () => done(false));
    socket.on('data', (chunk) => {
      answer += chunk.toString();
      // -LOADING while an AOF is replayed: not ready yet.
      if (answer.includes('\r\n')) done(answer.startsWith('+PONG'));
    });
    socket.once('connect', () => socket.write('PING\r\n'));
  });
}
