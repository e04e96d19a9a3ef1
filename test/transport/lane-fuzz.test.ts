// Garbage in a connection's lanes (transport/lanes/), from a client that proved the secret and got onto lanes: random
// bytes, random well-framed requests, a frame of a huge length, and the control words scribbled out of range (its up
// lane's tail, its down lane's head). The owner cuts that client off alone: the queue's other clients carry on and
// nothing already accepted, by them or by the bad client before it went bad, is lost or doubled.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { Queue, QueueEmpty } from 'procsafe';
import { connect } from '../../dist/transport/client.js';
import type { Connection } from '../../dist/transport/connection.js';
import { encodeHead, type Frame } from '../../dist/transport/frame.js';
import { Lanes } from '../../dist/transport/lanes/lanes.js';
import { kDown, kLaneBytes, kLaneFileBytes, kUp } from '../../dist/transport/lanes/layout.js';
import { sharedDirFor } from '../../dist/transport/shared-dir.js';
import { loadNative, type NativeAddon } from '../../dist/native/load.js';
import { kAnswer, kRequest } from '../../dist/broker/protocol.js';
import { encodeItem } from '../../dist/codec/item.js';
import { prng } from '../helpers/prng.js';
import { waitUntil } from '../helpers/index.js';

/** These tests are about the shared-memory path: where it is off, the socket path's own tests cover the same deaths. */
const kOff = loadNative() === undefined ? 'the shared-memory path is off here (PROCSAFE_NATIVE=0, or no native addon)' : false;

interface HandleShape { path: string; object: string; secret: string }

const kMask = kLaneBytes - 1;

/** A proven client on lanes, with the lane file mapped a second time here: its words and bytes are ours to scribble. */
class Tapped {
  readonly #addon: NativeAddon;
  readonly connection: Connection;
  readonly words: Int32Array;
  readonly #data: Uint8Array;
  /** The owner's bell, opened before the switch unlinked it. */
  readonly #bell: number;
  readonly #object: string;
  readonly #answers = new Map<number, (frame: Frame) => void>();
  #nextId = 1;
  /** Resolves when the link closed; `cut`: by the owner, not by us. */
  readonly closed: Promise<void>;
  cut = true;

  private constructor(addon: NativeAddon, connection: Connection, memory: ArrayBuffer, bell: number, object: string) {
    this.#addon = addon;
    this.connection = connection;
    this.words = new Int32Array(memory, 0, 1024);
    this.#data = new Uint8Array(memory, kUp.data, kLaneBytes);
    this.#bell = bell;
    this.#object = object;
    this.closed = new Promise((resolve) => {
      connection.listen({
        frame: (frame) => {
          const answer = this.#answers.get(frame.id);
          this.#answers.delete(frame.id);
          answer?.(frame);
        },
        close: () => resolve(),
      });
    });
  }

  /** Connects, maps the lane file the owner names (before it unlinks it) and waits until both ends switched to lanes. */
  static async open(handle: HandleShape): Promise<Tapped> {
    const addon = loadNative() as NativeAddon;
    const dir = sharedDirFor(handle.path);
    let tap: { memory: ArrayBuffer; bell: number } | undefined;
    const open = Lanes.open.bind(Lanes);
    (Lanes as { open: typeof Lanes.open }).open = (native, at, name) => {
      tap = { memory: native.map(join(at, name), kLaneFileBytes, false), bell: native.openBell(join(at, `${name}.o`)) };
      return open(native, at, name);
    };
    let tapped: Tapped;
    try {
      const { connection } = await connect(handle.path, handle.object, handle.secret, 1 << 20, undefined, dir);
      await waitUntil(() => tap !== undefined || connection.closed, 'the owner to offer lanes');
      if (tap === undefined) throw new Error('no lanes were offered');
      tapped = new Tapped(addon, connection, tap.memory, tap.bell, handle.object);
    } finally {
      (Lanes as { open: typeof Lanes.open }).open = open;
    }
    assert.equal(tapped.connection.inLanes, true, 'the client writes in its lane');
    // Sent in the up lane and answered in the down lane: both ends switched.
    assert.equal((await tapped.put(-1)).type, kAnswer.Done);
    return tapped;
  }

  /** A put through the lanes, resolved with its answer. */
  put(value: number): Promise<Frame> {
    const id = this.#nextId++;
    const item = encodeItem(value, 'item', 'put');
    const length = item.reduce((sum, chunk) => sum + chunk.length, 0);
    return this.#ask(id, [encodeHead(kRequest.Put, id, this.#object, length, 0), ...item]);
  }

  /** A request with no payload (a get, the queue's stats), resolved with its answer, if any comes. */
  ask(type: number): Promise<Frame> {
    const id = this.#nextId++;
    return this.#ask(id, [encodeHead(type, id, this.#object, 0)]);
  }

  #ask(id: number, frames: Buffer[]): Promise<Frame> {
    return new Promise((resolve) => {
      this.#answers.set(id, resolve);
      this.connection.send(frames);
    });
  }

  /** Copies `bytes` into the up lane after what the client published, publishes them, and rings the owner. */
  write(bytes: Uint8Array): void {
    const tail = Atomics.load(this.words, kUp.tail) >>> 0;
    for (let i = 0; i < bytes.length; i++) this.#data[(tail + i) & kMask] = bytes[i] as number;
    Atomics.store(this.words, kUp.tail, (tail + bytes.length) | 0);
    this.ring();
  }

  ring(): void {
    this.#addon.ring(this.#bell);
  }

  /** Until the owner cut us off, or `ms` passed (garbage that may still read as the start of a frame): then we hang up. */
  async end(ms: number): Promise<void> {
    const timer = setTimeout(() => {
      this.cut = false;
      this.connection.destroy();
    }, ms);
    await this.closed;
    clearTimeout(timer);
    this.#addon.closeBell(this.#bell);
  }
}

type Kind = 'random' | 'framed' | 'huge' | 'tail-ahead' | 'tail-behind' | 'down-head';
const kKinds: readonly Kind[] = ['random', 'framed', 'huge', 'tail-ahead', 'tail-behind', 'down-head'];
/** Item-making requests and a close would change the queue itself: a proven peer may do that, garbage or not. */
const kSkipped: ReadonlySet<number> = new Set([kRequest.Put, kRequest.PutNowait, kRequest.PutFile, kRequest.PutFileNowait, kRequest.Close]);

/** Makes `bad` misbehave in the way `kind` says. */
async function misbehave(bad: Tapped, kind: Kind, random: () => number, object: string): Promise<void> {
  const byte = (): number => Math.floor(random() * 256);
  switch (kind) {
    case 'random': {
      const junk = Buffer.alloc(1 + Math.floor(random() * 3000));
      for (let i = 0; i < junk.length; i++) junk[i] = byte();
      return bad.write(junk);
    }
    case 'framed': {
      const chunks: Buffer[] = [];
      for (let i = 0; i < 1 + random() * 20; i++) {
        let type = 40 + Math.floor(random() * 40);
        while (kSkipped.has(type)) type++;
        const payload = Buffer.alloc(Math.floor(random() * 48));
        for (let j = 0; j < payload.length; j++) payload[j] = byte();
        chunks.push(encodeHead(type, Math.floor(random() * 2 ** 32), random() < 0.8 ? object : String(byte()), payload.length, 0), payload);
      }
      return bad.write(Buffer.concat(chunks));
    }
    case 'huge': {
      const frame = encodeHead(kRequest.Stats, 1, object, 0);
      frame.writeUInt32BE(0xffff_fff0 - Math.floor(random() * 1000), 0);
      return bad.write(frame);
    }
    case 'tail-ahead': {
      const head = Atomics.load(bad.words, kUp.head) >>> 0;
      Atomics.store(bad.words, kUp.tail, (head + kLaneBytes + 1 + Math.floor(random() * 2 ** 30)) | 0);
      return bad.ring();
    }
    case 'tail-behind': {
      const head = Atomics.load(bad.words, kUp.head) >>> 0;
      Atomics.store(bad.words, kUp.tail, (head - 1 - Math.floor(random() * 1000)) | 0);
      return bad.ring();
    }
    case 'down-head': {
      // The owner writes the down lane: a head it finds past its tail must cut this client off when it next answers,
      // whoever's request the answer is for (here: the client's own, sent in its intact up lane).
      const tail = Atomics.load(bad.words, kDown.tail) >>> 0;
      Atomics.store(bad.words, kDown.head, (tail + 1 + Math.floor(random() * 2 ** 30)) | 0);
      void bad.ask(kRequest.Stats);
      return Promise.resolve();
    }
    default: {
      const never: never = kind;
      throw new Error(`unknown kind ${String(never)}`);
    }
  }
}

test('lane fuzz: clients that scribble on their lanes are cut off alone; nothing accepted is lost or doubled',
  { timeout: 120_000, skip: kOff },
  async () => {
  const warnings: string[] = [];
  const onWarning = (warning: Error): void => { warnings.push(warning.message); };
  process.on('warning', onWarning);
  try {
    const q = new Queue<number>({ maxsize: 64 });
    const handle = (q as unknown as Record<string, HandleShape>)['__procsafe_handle__'] as HandleShape;
    await q.qsize();
    // Steady traffic through the same owner all along.
    const n = 3000;
    const producer = (async () => { for (let i = 0; i < n; i += 30) await q.putMany(Array.from({ length: 30 }, (_, j) => i + j)); })();
    let target = Infinity;
    const got: number[] = [];
    const consumer = (async () => {
      while (got.length < target) {
        try {
          got.push(await q.get({ timeoutMs: 200 }));
        } catch (error) {
          if (!(error instanceof QueueEmpty)) throw error;
        }
      }
    })();

    const random = prng(1616);
    const accepted: number[] = [];
    const cuts = new Map<Kind, number>();
    const rounds = 120;
    for (let round = 0; round < rounds; round++) {
      const kind = kKinds[round % kKinds.length] as Kind;
      const bad = await Tapped.open(handle);
      // Items this client put and the owner accepted before it went bad.
      for (let i = 0; i < 3; i++) {
        const value = 1_000_000 + round * 10 + i;
        assert.equal((await bad.put(value)).type, kAnswer.Done);
        accepted.push(value);
      }
      await misbehave(bad, kind, random, handle.object);
      // Random bytes may read as the start of a long frame: the owner then waits for the rest, as on a socket.
      await bad.end(kind === 'random' || kind === 'framed' ? 300 : 10_000);
      if (bad.cut) cuts.set(kind, (cuts.get(kind) ?? 0) + 1);
      else assert.ok(kind === 'random' || kind === 'framed', `a client that scribbled (${kind}) was not cut off`);
    }
    await producer;
    // With the -1 each bad client put to see its lanes switch.
    target = n + accepted.length + rounds;
    const deadline = setTimeout(() => { target = 0; }, 30_000);
    await consumer;
    clearTimeout(deadline);
    const expected = [...Array.from({ length: n }, (_, i) => i), ...accepted, ...Array.from({ length: rounds }, () => -1)];
    assert.deepEqual([...got].sort((a, b) => a - b), expected.sort((a, b) => a - b), 'every accepted item exactly once');
    const snapshot = await q.inspect();
    assert.equal(snapshot.accepted, expected.length, 'no garbage was accepted as an item');
    assert.equal(snapshot.qsize, 0);
    assert.equal(snapshot.leased, 0);
    for (const kind of ['huge', 'tail-ahead', 'tail-behind', 'down-head'] as const) {
      assert.equal(cuts.get(kind), rounds / kKinds.length, `every ${kind} client was cut off`);
    }
    assert.ok((cuts.get('random') ?? 0) > 0, 'random bytes got clients cut off');
    assert.ok(warnings.some((w) => /cut off peer \d+: .*lane/.test(w)), `lane faults are logged with a reason: ${warnings.join(' | ')}`);
  } finally {
    process.off('warning', onWarning);
  }
});
