/**
 * `procsafe status [--json]`: every procsafe owner of this user on this machine
 * (a process that created a Pool or a Queue, Lock, Semaphore, Event or
 * Barrier): its pools' workers and their running tasks, its queues' depths and
 * in-flight items by reader pid, its locks' holders and waiters. Owners that
 * ended without removing their entry are cleaned up and counted in one line.
 */
import { parseArgs } from 'node:util';
import type { Command } from '../command.js';
import { type OwnerIdentity, type OwnerStatus, readStatus } from '../status/read.js';
import type { ClientPaths } from '../../broker/status-server.js';
import { formatTable } from '../table.js';
import { redact } from '../../redis/connection.js';
import { type RedisStatus, readRedisStatus } from '../../redis/status.js';

export const kStatusUsage =
  `  status [--json]      every procsafe owner of this user: pools, workers and their tasks,\n` +
  `                       queues, in-flight items by reader pid, lock holders and waiters\n` +
  `  status --redis URL [--json]  the queues and pools in that Redis: sizes, hosts, in-flight tasks\n`;

const kStatusHelp =
  'Usage: procsafe status [--json]\n' +
  '       procsafe status --redis URL [--json]\n\n' +
  'Lists every procsafe owner of this user on this machine (a process that created a Pool,\n' +
  'Queue, Lock, Semaphore, Event or Barrier): its pools, workers and their running tasks,\n' +
  'its queues with the items in flight by reader pid, its locks\' holders and waiters.\n' +
  'Entries left by owners that ended without removing them are cleaned up on the way.\n\n' +
  'With --redis: the queues (size, leased, unfinished) and pools (queued tasks, worker hosts with\n' +
  'their pid, workers and last lease renewal, and the tasks each runs with their age) in that Redis.\n\n' +
  'Options:\n' +
  '  --redis URL a redis:// or rediss:// URL\n' +
  '  --json      the same as one JSON document\n' +
  '  -h, --help  show this help\n';

export const status: Command = async (args, io) => {
  const { values } = parseArgs({
    args, options: { json: { type: 'boolean' }, redis: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    strict: true, allowPositionals: false,
  });
  if (values.help === true) {
    io.stdout.write(kStatusHelp);
    return 0;
  }
  if (values.redis !== undefined) {
    const redis = await readRedisStatus(values.redis);
    io.stdout.write(values.json === true ? `${JSON.stringify({ now: Date.now(), ...redis }, null, 2)}\n`
      : describeRedis(redact(values.redis), redis));
    return 0;
  }
  const report = await readStatus();
  if (values.json === true) {
    io.stdout.write(`${JSON.stringify({ now: Date.now(), ...report }, null, 2)}\n`);
    return 0;
  }
  const { owners, cleaned } = report;
  let out = owners.length === 0 ? 'no procsafe owners running\n' : owners.map(describeOwner).join('\n');
  if (cleaned.length > 0) out += describeCleaned(cleaned);
  io.stdout.write(out);
  return 0;
};

/** All the owners found gone in one line: they are history, not status. */
function describeCleaned(cleaned: readonly OwnerIdentity[]): string {
  const pids = [...new Set(cleaned.map((o) => o.pid))].sort((a, b) => a - b);
  const shown = pids.slice(0, 5).join(', ');
  const list = pids.length === 1 ? `pid ${shown}` : `pids ${shown}${pids.length > 5 ? ` and ${pids.length - 5} more` : ''}`;
  return `cleaned up after ${cleaned.length} owner${cleaned.length === 1 ? '' : 's'} that ended without cleaning up (${list})\n`;
}

function describeOwner(owner: OwnerStatus): string {
  const who = `pid ${owner.pid}${owner.name === null ? '' : ` ${JSON.stringify(owner.name)}`}` +
    `${owner.threadId === null ? '' : ` (thread ${owner.threadId})`}`;
  const kinds = owner.kinds.join(', ');
  let out = `${who}  ${kinds}  ${owner.argv.join(' ')}  (up ${duration(Date.now() - owner.startedAt)})\n`;
  for (const pool of owner.pools) {
    const s = pool.stats;
    out += `  pool "${pool.name}" (${pool.module}), as of ${duration(owner.poolsAgeMs)} ago\n` +
      `    workers ${s.workers}, busy ${s.busy}, queued ${s.queued}, completed ${s.completed}, failed ${s.failed}, ` +
      `crashed ${s.crashed}, retried ${s.retried}, restarts ${s.restarts}\n`;
    const rows = pool.workers.map((w) => [
      String(w.id), w.pid === null ? '-' : String(w.pid), w.state,
      w.task === null ? '-' : String(w.task.id),
      w.task === null ? '-' : w.task.items === null ? w.task.fn : `${w.task.fn} ×${w.task.items}`,
      w.runningMs === null ? '-' : duration(w.runningMs),
      String(w.pipelined),
    ]);
    if (rows.length > 0) out += indent(formatTable(['worker', 'pid', 'state', 'task', 'fn', 'running', 'queued behind'], rows), 4);
  }
  if (owner.error !== null) out += `  queues and locks: unreadable (${owner.error})\n`;
  if (owner.paths !== null && owner.paths.lanes + owner.paths.socket > 0) out += `  clients: ${describePaths(owner.paths)}\n`;
  for (const object of (owner.objects ?? []) as Obj[]) out += `  ${describeObject(object)}\n`;
  return out;
}

// Which transport serves them: shared memory where both ends loaded the addon, else the socket (README, Transport).
function describePaths({ lanes, socket }: ClientPaths): string {
  const parts = [];
  if (lanes > 0) parts.push(`${lanes} through shared memory`);
  if (socket > 0) parts.push(`${socket} through the socket (no native addon on one side)`);
  return parts.join(', ');
}

interface Waiter { client: number; pid: number | null }
type Obj = Record<string, unknown> & { object: string; kind: string };

function pids(list: unknown): string {
  const entries = (list ?? []) as Waiter[];
  return entries.length === 0 ? 'none' : entries.map((e) => (e.pid === null ? `client ${e.client}` : `pid ${e.pid}`)).join(', ');
}

function describeObject(o: Obj): string {
  const id = `${o.kind} #${o.object}`;
  switch (o.kind) {
    case 'queue': case 'joinable-queue': {
      const clients = ((o['clients'] ?? []) as (Waiter & { leased: number; acked: number })[])
        .filter((c) => c.leased > 0 || c.acked > 0)
        .map((c) => `${c.pid === null ? `client ${c.client}` : `pid ${c.pid}`}: ${c.leased} leased` +
          `${o.kind === 'joinable-queue' ? `, ${c.acked} unfinished` : ''}`);
      return `${id}: qsize ${String(o['qsize'])}, maxsize ${o['maxsize'] === 0 ? '∞' : String(o['maxsize'])}, ` +
        `leased ${String(o['leased'])}, unfinished ${String(o['unfinished'])}` +
        `${Number(o['quarantined']) > 0 ? `, quarantined ${String(o['quarantined'])}` : ''}${o['closed'] === true ? ', closed' : ''}\n` +
        `    in flight: ${clients.length === 0 ? 'none' : clients.join('; ')}\n` +
        `    waiting gets: ${pids(o['gets'])}; waiting puts: ${pids(o['puts'])}` +
        `${o.kind === 'joinable-queue' ? `; joins: ${pids(o['joins'])}` : ''}`;
    }
    case 'lock': {
      const state = o['free'] === 1 ? 'free' : `held by ${pids(o['holders'])}`;
      return `${id}: ${state}${Number(o['orphaned']) > 0 ? ' (freed by a death)' : ''}; waiters: ${pids(o['waiters'])}`;
    }
    case 'semaphore':
      return `${id}: ${String(o['free'])}/${String(o['permits'])} free` +
        `${Number(o['orphaned']) > 0 ? ` (${String(o['orphaned'])} freed by a death)` : ''}; ` +
        `holders: ${pids(o['holders'])}; waiters: ${pids(o['waiters'])}`;
    case 'event': return `${id}: ${o['set'] === true ? 'set' : 'clear'}; waiters: ${pids(o['waiters'])}`;
    case 'barrier':
      return `${id}: ${String((o['waiters'] as unknown[]).length)}/${String(o['parties'])} waiting, generation ${String(o['generation'])}` +
        `${o['broken'] === true ? ', BROKEN' : ''}; waiters: ${pids(o['waiters'])}`;
    default: return `${id}: ${JSON.stringify(o)}`;
  }
}

function indent(text: string, n: number): string {
  return text.split('\n').map((line) => (line === '' ? line : ' '.repeat(n) + line)).join('\n');
}

function duration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 3_600_000) return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
  return `${Math.floor(ms / 3_600_000)} h ${Math.round((ms % 3_600_000) / 60_000)} min`;
}

function describeRedis(url: string, status: RedisStatus): string {
  if (status.queues.length === 0 && status.pools.length === 0) return `no procsafe queues or pools in ${url}\n`;
  let out = '';
  if (status.queues.length > 0) {
    out += formatTable(['queue', 'kind', 'size', 'leased', 'unfinished', 'maxsize', 'closed'], status.queues.map((q) => [
      q.name, q.kind, String(q.size), String(q.leased), q.kind === 'joinable-queue' ? String(q.unfinished) : '-',
      q.maxsize === 0 ? '-' : String(q.maxsize), q.closed === '' ? '-' : q.closed,
    ]));
  }
  for (const pool of status.pools) {
    const running = pool.hosts.reduce((n, h) => n + h.tasks.length, 0);
    out += `pool "${pool.name}": ${pool.queued} queued, ${running} running on ${pool.hosts.length} host(s)\n`;
    if (pool.hosts.length > 0) {
      out += indent(formatTable(['host', 'pid', 'workers', 'last renewal', 'running'], pool.hosts.map((h) => [
        h.host, h.pid === null ? '-' : String(h.pid), h.workers === null ? '-' : String(h.workers),
        h.renewedMsAgo === null ? '-' : `${duration(Math.max(0, h.renewedMsAgo))} ago${h.expired ? ' (lease expired)' : ''}`,
        String(h.tasks.length),
      ])), 2);
    }
    const tasks = pool.hosts.flatMap((h) => h.tasks.map((task) =>
      [task.id, task.fn, `${h.host} ${h.pid ?? ''}`.trim(), duration(task.ageMs)]));
    if (tasks.length > 0) out += indent(formatTable(['task', 'fn', 'host', 'running for'], tasks), 2);
  }
  return out;
}
