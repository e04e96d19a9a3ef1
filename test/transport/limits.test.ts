// An owner against peers that try to exhaust it: a flood of connections that never
// prove a secret (under a low fd limit), and a proven peer that sends requests and
// never reads the answers. The owner survives, stays bounded, logs a bounded number
// of lines, and honest clients and `procsafe status` keep getting in.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect as netConnect, type Socket } from 'node:net';
import { test } from 'node:test';
import { Queue } from 'procsafe';
import { reviveRecords } from '../../dist/codec/handles.js';
import { authFrame } from '../../dist/transport/client.js';
import { encodeHead } from '../../dist/transport/frame.js';
import { kRequest } from '../../dist/broker/protocol.js';
import { type HandleShape, startLimitsOwner } from '../helpers/limits-owner.js';
import { repoRoot, tempDir, waitUntil } from '../helpers/index.js';

/** The owner's queue, as a Queue in this process. */
function queueOf(handle: HandleShape): Queue<string> {
  const q = reviveRecords({ __procsafe_handle__: handle });
  assert.ok(q instanceof Queue);
  return q as Queue<string>;
}

function rssBytes(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:')) ?? '';
  return Number(line.replace(/\D+/g, '')) * 1024;
}

/** Runs `procsafe status --json` with `env` and returns its owners. */
function status(env: NodeJS.ProcessEnv): Promise<{ pid: number; objects: unknown[] | null; error: string | null }[]> {
  const child = spawn(process.execPath, ['dist/cli/main.js', 'status', '--json'], {
    cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => { out += chunk; });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => (code === 0
      ? resolve((JSON.parse(out) as { owners: [] }).owners)
      : reject(new Error(`status exited ${code}`))));
  });
}

/** Opens a raw connection that never speaks; resolves once it is connected (or refused). */
function idle(path: string, sockets: Socket[]): Promise<void> {
  return new Promise((resolve) => {
    const socket = netConnect(path);
    sockets.push(socket);
    socket.on('connect', () => resolve());
    socket.on('data', () => {});
    socket.on('error', () => resolve());
    socket.on('close', () => resolve());
  });
}

test('500 idle unauthenticated connections against an owner with 256 fds: it survives, a client and status still get in, logs stay bounded',
  { timeout: 60_000 }, async (t) => {
  const dir = tempDir(t);
  const env = { ...process.env, XDG_RUNTIME_DIR: dir };
  const owner = await startLimitsOwner(t, env, 256);
  const sockets: Socket[] = [];
  t.after(() => { for (const socket of sockets) socket.destroy(); });
  for (let i = 0; i < 500; i += 50) await Promise.all(Array.from({ length: 50 }, () => idle(owner.handle.path, sockets)));

  const q = queueOf(owner.handle);
  const started = Date.now();
  assert.equal(await q.get({ timeoutMs: 15_000 }), 'a', 'an honest client still gets an item');
  // Not only once the flood's handshakes time out (5 s) and free their descriptors.
  assert.ok(Date.now() - started < 3_000, `at once: ${Date.now() - started} ms`);
  const listed = (await status(env)).find((o) => o.pid === owner.pid);
  assert.ok(listed !== undefined, 'status lists the owner');
  assert.equal(listed.error, null, `status reached the broker: ${listed.error}`);
  assert.equal((listed.objects ?? []).length, 1);
  // A second flood while a client is connected changes nothing for it.
  for (let i = 0; i < 200; i += 50) await Promise.all(Array.from({ length: 50 }, () => idle(owner.handle.path, sockets)));
  assert.equal(await q.get({ timeoutMs: 15_000 }), 'b');
  assert.equal(owner.child.exitCode, null, 'the owner is alive');
  // The rest is counted in one line when the log's interval ends.
  await waitUntil(() => /more in \d+ s like: refused a peer/.test(owner.stderr()), 'the count of the lines left out is logged', 15_000);
  const lines = owner.stderr().split('\n').filter((l) => l.includes('procsafe:'));
  assert.ok(lines.length <= 25, `at most a few dozen log lines, got ${lines.length}:\n${lines.slice(0, 40).join('\n')}`);
});

/** A proven raw link that reads the handshake and then never reads again. */
function neverReading(handle: HandleShape, sockets: Socket[]): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = netConnect(handle.path);
    sockets.push(socket);
    let got = Buffer.alloc(0);
    socket.on('error', () => {});
    socket.on('data', function onData(chunk: Buffer) {
      got = Buffer.concat([got, chunk]);
      // kHello: [u32 length][type][u32 id][u8 fn length = 0][u32 payload length][32-byte nonce]; then kWelcome.
      if (got.length >= 4 && got.length >= 4 + got.readUInt32BE(0)) {
        const hello = got.subarray(0, 4 + got.readUInt32BE(0));
        const nonce = hello.subarray(hello.length - 32);
        if (got.length === hello.length) { socket.write(authFrame(handle.object, handle.secret, nonce)); return; }
        socket.off('data', onData);
        socket.pause();
        resolve(socket);
      }
    });
    socket.on('close', () => reject(new Error('closed during the handshake')));
  });
}

test('a proven peer that sends kGet and a million kStats and never reads is cut off; what it held goes back; the owner stays bounded',
  { timeout: 120_000 }, async (t) => {
  const dir = tempDir(t);
  const env = { ...process.env, XDG_RUNTIME_DIR: dir };
  const owner = await startLimitsOwner(t, env, 1024);
  const sockets: Socket[] = [];
  t.after(() => { for (const socket of sockets) socket.destroy(); });
  const q = queueOf(owner.handle);
  assert.equal(await q.qsize(), 3);
  const before = rssBytes(owner.pid);

  const peer = await neverReading(owner.handle, sockets);
  const closed = new Promise<void>((resolve) => peer.once('close', () => resolve()));
  let open = true;
  void closed.then(() => { open = false; });
  peer.write(encodeHead(kRequest.Get, 1, owner.handle.object, 0));
  // Requests in batches of 10k, each written once the last one drained; stops when cut off.
  const batch = Buffer.concat(Array.from({ length: 10_000 }, (_, i) => encodeHead(kRequest.Stats, i + 2, owner.handle.object, 0)));
  let sent = 0;
  let peak = before;
  while (open && sent < 1_000_000) {
    if (!peer.write(batch)) await Promise.race([new Promise((resolve) => peer.once('drain', resolve)), closed]);
    sent += 10_000;
    if (sent % 100_000 === 0) peak = Math.max(peak, rssBytes(owner.pid));
  }
  await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 5_000))]);
  assert.equal(open, false, `the never-reading peer was cut off (sent ${sent} requests)`);
  peak = Math.max(peak, rssBytes(owner.pid));
  assert.ok(peak - before < 100 * 1024 * 1024, `the owner grew by ${Math.round((peak - before) / 2 ** 20)} MiB`);

  // The item it was handed and never read is back, first; other clients were never disturbed.
  assert.deepEqual([
    await q.get({ timeoutMs: 10_000 }), await q.get({ timeoutMs: 10_000 }), await q.get({ timeoutMs: 10_000 }),
  ], ['a', 'b', 'c']);
  // The owner's broker thread logs through its main thread: the line may trail the items.
  await waitUntil(() => /cut off peer \d+: .*unread/.test(owner.stderr()), 'the owner logged why it cut the peer off', 15_000);
});
