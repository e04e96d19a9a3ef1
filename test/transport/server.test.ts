// The owner's socket: only peers proving the secret get in; garbage, truncated and
// oversized frames cut that peer off with a logged reason, and every other peer
// carries on with nothing lost.
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { connect as netConnect, type Socket } from 'node:net';
import { dirname } from 'node:path';
import { test } from 'node:test';
import { BrokerLost } from 'procsafe';
import { newSecret, verifyProof } from '../../dist/transport/auth.js';
import { connect } from '../../dist/transport/client.js';
import type { Connection } from '../../dist/transport/connection.js';
import { encodeFrame } from '../../dist/codec/value-frame.js';
import { encodeBare, type Frame } from '../../dist/transport/frame.js';
import { Server } from '../../dist/transport/server.js';
import { deserialize } from '../../dist/codec/v8.js';
import { waitUntil } from '../helpers/index.js';
import { prng } from '../helpers/prng.js';

const kEcho = 99;
const kObject = '1';

/** A proven link to the echo server's one object. */
async function link(path: string, secret: string, max: number): Promise<Connection> {
  return (await connect(path, kObject, secret, max)).connection;
}

/** An owner that answers each kEcho frame with the same value. */
async function echoServer(t: { after: (fn: () => unknown) => void }, maxMessageBytes = 1 << 20) {
  const logs: string[] = [];
  const secret = newSecret();
  const server = await Server.listen({
    verify: (object, nonce, proof) => object === kObject && verifyProof(secret, nonce, proof),
    maxMessageBytes, log: (m) => logs.push(m),
    onPeer: (connection) => connection.listen({
      frame: (frame) => {
        if (frame.type === kEcho) connection.send(encodeFrame(kEcho, frame.id, '', deserialize(frame.payload), 'v', 'v'));
      },
      close: () => {},
    }),
  });
  t.after(() => server.close());
  return { server, secret, logs };
}

/** Sends `n` echoes one after another on a proven connection and returns what came back. */
function echoes(connection: Connection, n: number): Promise<unknown[]> {
  return new Promise((resolve, reject) => {
    const got: unknown[] = [];
    connection.listen({
      frame: (frame: Frame) => {
        got.push(deserialize(frame.payload));
        if (got.length === n) resolve(got);
        else connection.send(encodeFrame(kEcho, got.length, '', { i: got.length }, 'v', 'v'));
      },
      close: (reason) => reject(reason ?? new Error('closed')),
    });
    connection.send(encodeFrame(kEcho, 0, '', { i: 0 }, 'v', 'v'));
  });
}

test('the socket lives in a directory only this user can enter', { timeout: 10_000 }, async (t) => {
  const { server } = await echoServer(t);
  const dir = statSync(dirname(server.path));
  assert.equal(dir.mode & 0o777, 0o700);
  assert.equal(dir.uid, process.getuid?.());
});

test('a peer that proves the secret is served; one with a wrong secret is refused and logged', { timeout: 10_000 }, async (t) => {
  const { server, secret, logs } = await echoServer(t);
  const peer = await link(server.path, secret, 1 << 20);
  t.after(() => peer.destroy());
  assert.deepEqual(await echoes(peer, 5), [0, 1, 2, 3, 4].map((i) => ({ i })));
  await assert.rejects(link(server.path, newSecret(), 1 << 20), BrokerLost);
  assert.ok(logs.some((l) => /refused a peer .*wrong proof of the secret/.test(l)), logs.join('\n'));
});

test('an owner that is gone is BrokerLost', { timeout: 10_000 }, async (t) => {
  const { server, secret } = await echoServer(t);
  await server.close();
  await assert.rejects(link(server.path, secret, 1 << 20), BrokerLost);
});

/** Opens a raw socket, writes `bytes`, resolves when the server hangs up (or after `ms`). */
function raw(path: string, bytes: Buffer[], ms = 2000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket: Socket = netConnect(path);
    const timer = setTimeout(() => { socket.destroy(); resolve(false); }, ms);
    socket.on('connect', () => { for (const b of bytes) socket.write(b); });
    socket.on('data', () => {});
    socket.on('error', () => {});
    socket.on('close', () => { clearTimeout(timer); resolve(true); });
  });
}

test('garbage, an early frame, an oversized frame and a truncated frame each cut that peer off with a reason',
  { timeout: 20_000 }, async (t) => {
  const { server, secret, logs } = await echoServer(t, 4096);
  const peer = await link(server.path, secret, 4096);
  t.after(() => peer.destroy());
  const oversized = Buffer.alloc(8);
  oversized.writeUInt32BE(1 << 30, 0);
  assert.equal(await raw(server.path, [Buffer.from('GET / HTTP/1.1\r\n\r\n')]), true);
  assert.equal(await raw(server.path, [encodeBare(kEcho, 1)]), true);
  assert.equal(await raw(server.path, [oversized]), true);
  const truncated = Buffer.concat(encodeFrame(41, 0, '', 'x'.repeat(100), 'v', 'v')).subarray(0, 50);
  assert.equal(await raw(server.path, [truncated], 300), false, 'a silent half frame just waits; the timeout or the peer ends it');
  assert.ok(logs.some((l) => /exceeds maxMessageBytes/.test(l)), logs.join('\n'));
  assert.ok(logs.some((l) => /before the handshake/.test(l)), logs.join('\n'));
  // The proven peer never noticed.
  assert.deepEqual(await echoes(peer, 3), [0, 1, 2].map((i) => ({ i })));
});

test('fuzz: 10k random inputs on the socket; the owner drops those peers and serves a proven one throughout',
  { timeout: 60_000 }, async (t) => {
  const { server, secret } = await echoServer(t, 64 * 1024);
  const peer = await link(server.path, secret, 64 * 1024);
  t.after(() => peer.destroy());
  const steady = echoes(peer, 2000);
  const random = prng(1234);
  let inputs = 0;
  const batches: Promise<boolean>[] = [];
  while (inputs < 10_000) {
    const bytes: Buffer[] = [];
    for (let i = 0; i < 20; i++, inputs++) {
      const length = Math.floor(random() * 64);
      const chunk = Buffer.alloc(length);
      for (let j = 0; j < length; j++) chunk[j] = Math.floor(random() * 256);
      // Some inputs look like frames: a plausible length and a real frame type.
      if (length >= 10 && random() < 0.3) {
        chunk.writeUInt32BE(length - 4, 0);
        chunk[4] = [41, 99, 2, 12][Math.floor(random() * 4)] as number;
      }
      bytes.push(chunk);
    }
    batches.push(raw(server.path, bytes, 200));
    if (batches.length >= 20) await Promise.all(batches.splice(0));
  }
  await Promise.all(batches);
  const got = await steady;
  assert.equal(got.length, 2000);
  got.forEach((value, i) => assert.deepEqual(value, { i }));
});

test('the socket itself is 0600: bind() follows the umask, which the broker thread cannot set', { timeout: 10_000 }, async (t) => {
  const { server } = await echoServer(t);
  assert.equal(statSync(server.path).mode & 0o777, 0o600);
});

test('caps: unproven connections beyond theirs evict the oldest; ' +
  'a proven peer beyond its cap is refused with a reason; a status peer still gets in', { timeout: 20_000 }, async (t) => {
  const logs: string[] = [];
  const secret = newSecret();
  const statusSecret = newSecret();
  const server = await Server.listen({
    verify: (object, nonce, proof) => verifyProof(object === 'status' ? statusSecret : secret, nonce, proof),
    maxMessageBytes: 1 << 20, log: (m) => logs.push(m),
    reserved: (object) => object === 'status',
    limits: { fdLimit: 64, unproven: 3, proven: 2, reserved: 1 },
    onPeer: (connection) => connection.listen({ frame: () => {}, close: () => {} }),
  });
  t.after(() => server.close());
  const sockets: Socket[] = [];
  t.after(() => { for (const socket of sockets) socket.destroy(); });
  const closed: boolean[] = [];
  await Promise.all(Array.from({ length: 5 }, (_, i) => new Promise<void>((resolve) => {
    const socket = netConnect(server.path);
    sockets.push(socket);
    closed[i] = false;
    socket.on('data', () => resolve());
    socket.on('error', () => {});
    socket.on('close', () => { closed[i] = true; });
  })));
  const first = await link(server.path, secret, 1 << 20);
  const second = await link(server.path, secret, 1 << 20);
  t.after(() => { first.destroy(); second.destroy(); });
  await assert.rejects(link(server.path, secret, 1 << 20), BrokerLost);
  const status = (await connect(server.path, 'status', statusSecret, 1 << 20)).connection;
  t.after(() => status.destroy());
  assert.ok(logs.some((l) => /2 peers are connected, the most this owner takes/.test(l)), logs.join('\n'));
  assert.ok(logs.some((l) => /evicted: 3 connections were waiting/.test(l)), logs.join('\n'));
  assert.ok(closed.filter(Boolean).length >= 2, `the oldest idle ones went first: ${closed.join(',')}`);
  assert.equal(first.closed || second.closed || status.closed, false);
});

test('rate-limited log: N lines of a kind per interval, then one count; other kinds are not held back', { timeout: 10_000 }, async () => {
  const { rateLimited } = await import('../../dist/internal/log.js');
  const lines: string[] = [];
  const log = rateLimited((m) => lines.push(m), { lines: 3, intervalMs: 50 });
  for (let i = 0; i < 100; i++) log(`refused peer ${i}: "name ${i}" wrong proof`);
  log('another kind');
  assert.deepEqual(lines, [
    'refused peer 0: "name 0" wrong proof', 'refused peer 1: "name 1" wrong proof', 'refused peer 2: "name 2" wrong proof', 'another kind',
  ]);
  await waitUntil(() => lines.length === 5, 'the count is logged when the interval ends');
  assert.equal(lines[4], '…and 97 more in 0.05 s like: refused peer #: "…" wrong proof');
});
