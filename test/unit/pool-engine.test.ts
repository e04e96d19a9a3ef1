/**
 * The local pool engine with fake worker hosts: dispatch, crash attribution,
 * retries, recycling, boot failures and shutdown, decided in memory. No
 * process starts; each fake does what its script says with the frames it gets.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PoolClosed, RemoteError, WorkerCrashed } from 'procsafe';
import { tasks } from '../helpers/index.js';
import { LocalEngine } from '../../dist/pool/local-engine.js';
import type { HostFactory } from '../../dist/pool/local-engine.js';
import type { HostEvents, HostExit, WorkerHost } from '../../dist/pool/host.js';
import { resolvePoolOptions, type PoolOptions } from '../../dist/pool/options.js';
import { nextTaskId, type Outcome, type Task } from '../../dist/pool/task.js';
import { encodeFrame } from '../../dist/codec/value-frame.js';
import { FrameDecoder, parseFrame } from '../../dist/transport/frame.js';
import { describeError } from '../../dist/codec/remote-error.js';
import { decodeBatch } from '../../dist/codec/task-args.js';
import { kFromChild, kToChild } from '../../dist/child/protocol.js';

const kT = { timeout: 10_000 };

interface Received { readonly id: number; readonly fn: string; readonly chunk: boolean; readonly args: unknown[] }

/** What a fake does on its own: become ready when told to start, answer tasks whose fn it knows. */
interface Script {
  /** 'ready' (default), 'boot-error' (reports a load error, exits 1), 'die' (exits 1 saying nothing), 'hold' (stays starting). */
  boot?: 'ready' | 'boot-error' | 'die' | 'hold';
}

class FakeHost implements WorkerHost {
  readonly pid: number;
  readonly label: string;
  readonly received: Received[] = [];
  /** Tasks received and not answered, oldest first: the head is "running". */
  readonly holding: Received[] = [];
  readonly cancelled = new Set<number>();
  stopAsked = false;
  exited = false;
  readonly #events: HostEvents;
  readonly #world: World;
  readonly #decoder = new FrameDecoder(2 ** 30);

  constructor(world: World, pid: number, events: HostEvents) {
    this.#world = world;
    this.#events = events;
    this.pid = pid;
    this.label = `[fake ${pid}]`;
  }

  send(frames: readonly Buffer[]): void {
    if (this.exited) return;
    for (const chunk of frames) this.#decoder.push(chunk, (body) => this.#onFrame(body));
  }

  kill(): void { this.die({ exitCode: null, signal: 'SIGKILL' }); }

  /** Exits, as a host reports it: on a later turn. */
  die(info: HostExit): void {
    if (this.exited) return;
    this.exited = true;
    setImmediate(() => this.#events.exit(info));
  }

  booted = false;

  ready(): void {
    this.booted = true;
    this.#emit(encodeFrame(kFromChild.Ready, 0, '', { exports: ['square', 'hold', 'crash'] }, 'ready', 'ready'));
    // As the real child: a stop that came while it was starting is acted on once it has started.
    if (this.stopAsked && this.holding.length === 0) this.die({ exitCode: 0, signal: null });
  }

  /** Answers the task at the head with `value` (a chunk: each item squared). */
  answer(value?: unknown): void {
    const task = this.holding.shift() as Received;
    if (task.chunk) {
      this.#emit(encodeFrame(kFromChild.ChunkResult, task.id, '', task.args.map((x) => [true, (x as number) ** 2]), 'result', 'result'));
    } else {
      this.#emit(encodeFrame(kFromChild.Ok, task.id, '', value ?? (task.args[0] as number) ** 2, 'result', 'result'));
    }
  }

  #emit(chunks: Buffer[]): void {
    this.#events.frame(Buffer.concat(chunks).subarray(4));
  }

  #onFrame(body: Buffer): void {
    const frame = parseFrame(body);
    if (frame.type === kToChild.Init) {
      const boot = this.#world.script.boot ?? 'ready';
      if (boot === 'ready') queueMicrotask(() => this.ready());
      if (boot === 'boot-error') {
        const error = describeError(new SyntaxError('bad module'));
        this.#emit(encodeFrame(kFromChild.BootError, 0, '', { phase: 'import', error }, 'e', 'e'));
        this.die({ exitCode: 1, signal: null });
      }
      if (boot === 'die') this.die({ exitCode: 1, signal: null });
    } else if (frame.type === kToChild.Batch || frame.type === kToChild.BatchSimple) {
      decodeBatch(frame.type, frame.payload, (task) => this.#take(task));
    } else if (frame.type === kToChild.Cancel) {
      this.cancelled.add(frame.id);
    } else if (frame.type === kToChild.Stop) {
      this.stopAsked = true;
      queueMicrotask(() => { if (this.booted && this.holding.length === 0) this.die({ exitCode: 0, signal: null }); });
    }
  }

  #take(task: Received): void {
    this.received.push(task);
    this.holding.push(task);
    // 'square' answers itself at once; 'crash' kills its worker when it is the running task; 'hold' waits for the test.
    queueMicrotask(() => this.#world.pump(this));
  }
}

/** Every fake the engine started, and a check that it never ran more at once than `workers`. */
class World {
  readonly hosts: FakeHost[] = [];
  script: Script = {};
  mostAlive = 0;
  readonly factory: HostFactory = (_isolation, _options, events) => {
    const host = new FakeHost(this, 1000 + this.hosts.length, events);
    this.hosts.push(host);
    this.mostAlive = Math.max(this.mostAlive, this.alive.length);
    return host;
  };

  get alive(): FakeHost[] { return this.hosts.filter((h) => !h.exited); }

  pump(host: FakeHost): void {
    while (!host.exited && host.holding.length > 0) {
      const head = host.holding[0] as Received;
      if (head.fn === 'crash') {
        host.die({ exitCode: null, signal: 'SIGKILL' });
        return;
      }
      if (head.fn !== 'square') return;
      host.answer();
    }
    if (host.stopAsked && host.holding.length === 0) host.die({ exitCode: 0, signal: null });
  }
}

function engineWith(options: Partial<PoolOptions>, script: Script = {}): { engine: LocalEngine; world: World } {
  const world = new World();
  world.script = script;
  const resolved = resolvePoolOptions({ module: tasks, workers: 1, ...options });
  // A clock that never moves: every task looks instant, so the pipelining window grows however loaded the machine is.
  const engine = new LocalEngine(resolved, { stdout: undefined, stderr: undefined }, world.factory, () => 0);
  return { engine, world };
}

/** Submits `fn(...args)` and resolves with its outcome; `task` is there to cancel it. */
function run(engine: LocalEngine, fn: string, args: unknown[], chunk = false): { task: Task; outcome: Promise<Outcome> } {
  let task!: Task;
  const outcome = new Promise<Outcome>((resolve) => {
    task = {
      id: nextTaskId(), fn, args, chunk, state: 'queued', slot: undefined, attempts: 0, cleanup: undefined,
      done: (ok, value) => resolve(ok ? { ok: true, value } : { ok: false, error: value as Error }),
    };
  });
  engine.submit(task);
  return { task, outcome };
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 2000 && !condition(); i++) await turn();
  assert.ok(condition(), `never happened: ${what}`);
}

/** As `until`, for what waits on a timer (idleTimeoutMs): polls every 5 ms, for up to 5 s. */
async function eventually(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 1000 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 5));
  assert.ok(condition(), `never happened: ${what}`);
}

/** Grows the dispatch window (tasks answered at once make it deeper) so that tasks pipeline. */
async function warmUp(engine: LocalEngine): Promise<void> {
  for (let i = 0; i < 40; i++) await run(engine, 'square', [i]).outcome;
}

describe('local pool engine (fake hosts)', () => {
  test('tasks reach workers in submission order and settle with their own answers', kT, async () => {
    const { engine, world } = engineWith({ workers: 1 });
    const runs = Array.from({ length: 20 }, (_, i) => run(engine, 'square', [i]));
    const outcomes = await Promise.all(runs.map((r) => r.outcome));
    assert.deepEqual(outcomes.map((o) => (o.ok ? o.value : o.error)), runs.map((_, i) => i * i));
    assert.deepEqual(world.hosts[0]?.received.map((t) => t.args[0]), runs.map((_, i) => i));
    assert.equal(engine.stats().completed, 20);
    await engine.shutdown(true);
  });

  test('idle workers are served first: two held tasks go to two workers', kT, async () => {
    const { engine, world } = engineWith({ workers: 2 });
    await until(() => engine.workers().every((w) => w.state === 'ready') && engine.workers().length === 2, 'both ready');
    run(engine, 'hold', []);
    run(engine, 'hold', []);
    await until(() => world.hosts.every((h) => h.received.length === 1), 'one task each');
    assert.equal(engine.stats().busy, 2);
    await engine.shutdown(false);
  });

  test('a death charges the running task; tasks pipelined behind it run again elsewhere, uncharged', kT, async () => {
    const { engine, world } = engineWith({ workers: 1 });
    await warmUp(engine);
    const doomed = run(engine, 'hold', []);
    const behind = [run(engine, 'hold', []), run(engine, 'hold', [])];
    const first = world.hosts[0] as FakeHost;
    await until(() => first.holding.length === 3, 'three tasks pipelined in one worker');
    first.die({ exitCode: null, signal: 'SIGKILL' });
    const crash = await doomed.outcome;
    assert.ok(!crash.ok && crash.error instanceof WorkerCrashed);
    assert.equal(crash.error.attempts, 1);
    await until(() => world.hosts.length === 2 && (world.hosts[1] as FakeHost).holding.length === 2,
      'the two others re-sent to the replacement');
    const second = world.hosts[1] as FakeHost;
    second.answer(1);
    second.answer(2);
    assert.deepEqual(await Promise.all(behind.map((b) => b.outcome)), [{ ok: true, value: 1 }, { ok: true, value: 2 }]);
    assert.equal(behind[0]?.task.attempts, 0);
    assert.deepEqual({ crashed: engine.stats().crashed, retried: engine.stats().retried, restarts: engine.stats().restarts },
      { crashed: 1, retried: 0, restarts: 1 });
    await engine.shutdown(true);
  });

  test('when the host knows which task was running, the ones before it are re-run, not blamed', kT, async () => {
    const { engine, world } = engineWith({ workers: 1 });
    await warmUp(engine);
    const answeredButLost = run(engine, 'hold', []);
    const running = run(engine, 'hold', []);
    const first = world.hosts[0] as FakeHost;
    await until(() => first.holding.length === 2, 'two tasks pipelined');
    first.die({ exitCode: 1, signal: null, runningTaskId: running.task.id });
    const crash = await running.outcome;
    assert.ok(!crash.ok && crash.error instanceof WorkerCrashed);
    await until(() => world.hosts.length === 2 && (world.hosts[1] as FakeHost).holding.length === 1, 're-sent');
    (world.hosts[1] as FakeHost).answer('again');
    assert.deepEqual(await answeredButLost.outcome, { ok: true, value: 'again' });
    await engine.shutdown(true);
  });

  test('retries re-run a crashing task until they are used up', kT, async () => {
    const { engine, world } = engineWith({ workers: 1, retries: 2 });
    const outcome = await run(engine, 'crash', []).outcome;
    assert.ok(!outcome.ok && outcome.error instanceof WorkerCrashed);
    assert.equal(outcome.error.attempts, 3);
    assert.match(outcome.error.message, /0 of 2 retries left/);
    assert.equal(engine.stats().retried, 2);
    assert.equal(engine.stats().crashed, 3);
    await until(() => world.hosts.length === 4, 'the last crash replaced too');
    await engine.shutdown(true);
  });

  test('a crashing chunk is split: only the guilty item fails, and every item counts as a task', kT, async () => {
    const { engine, world } = engineWith({ workers: 1 });
    const chunk = run(engine, 'square', [1, 2, 3], true);
    assert.deepEqual(await chunk.outcome, { ok: true, value: [{ ok: true, value: 1 }, { ok: true, value: 4 }, { ok: true, value: 9 }] });
    assert.equal(engine.stats().completed, 3);
    const guilty = run(engine, 'hold', [5, 6], true);
    await until(() => (world.hosts[0] as FakeHost).holding.length === 1, 'chunk sent');
    (world.hosts[0] as FakeHost).die({ exitCode: null, signal: 'SIGKILL' });
    await until(() => world.hosts.length === 2 && (world.hosts[1] as FakeHost).holding.length > 0, 'items re-sent one by one');
    const second = world.hosts[1] as FakeHost;
    assert.deepEqual(second.holding[0]?.args, [5]);
    second.answer(25);
    await until(() => second.holding.length === 1 && second.holding[0]?.args[0] === 6, 'the second item');
    second.die({ exitCode: null, signal: 'SIGKILL' });
    const outcome = await guilty.outcome;
    assert.ok(outcome.ok);
    const items = outcome.value as Outcome[];
    assert.deepEqual(items[0], { ok: true, value: 25 });
    assert.ok(items[1] !== undefined && !items[1].ok && items[1].error instanceof WorkerCrashed);
    assert.equal(engine.stats().completed, 4);
    assert.equal(engine.stats().failed, 1);
    await engine.shutdown(true);
  });

  test('recycling: a worker is replaced only once it has exited, never beside it', kT, async () => {
    const { engine, world } = engineWith({ workers: 2, maxTasksPerWorker: 1 });
    const outcomes = await Promise.all(Array.from({ length: 10 }, (_, i) => run(engine, 'square', [i]).outcome));
    assert.ok(outcomes.every((o) => o.ok));
    assert.equal(world.mostAlive, 2, 'never more workers alive than `workers`');
    assert.ok(world.hosts.every((h) => h.received.length <= 1));
    assert.equal(engine.stats().crashed, 0);
    await engine.shutdown(true);
  });

  test('cancelling: a queued task is dropped, a running one stops its worker; the replacement waits for its exit', kT, async () => {
    const { engine, world } = engineWith({ workers: 1 });
    const running = run(engine, 'hold', []);
    const queued = run(engine, 'hold', []);
    await until(() => (world.hosts[0] as FakeHost).holding.length === 1, 'running');
    engine.cancel(queued.task, new Error('not needed'));
    assert.deepEqual(await queued.outcome, { ok: false, error: new Error('not needed') });
    engine.cancel(running.task, new Error('given up'));
    assert.equal((await running.outcome).ok, false);
    await until(() => world.hosts.length === 2, 'replaced');
    assert.equal(world.mostAlive, 1);
    assert.equal(engine.stats().crashed, 0, 'a worker the pool stopped did not crash');
    await engine.shutdown(true);
  });

  test('a module that fails to load fails waiting work with its error and is not respawned in a loop', kT, async () => {
    const { engine, world } = engineWith({ workers: 2 }, { boot: 'boot-error' });
    const outcome = await run(engine, 'square', [1]).outcome;
    assert.ok(!outcome.ok && outcome.error instanceof RemoteError);
    assert.match(outcome.error.message, /failed to load: bad module/);
    // Within the back-off, new work fails at once with the same error, and no worker starts.
    const again = await run(engine, 'square', [2]).outcome;
    assert.ok(!again.ok && /bad module/.test(again.error.message));
    await turn();
    assert.equal(world.hosts.length, 2);
    await assert.rejects(engine.moduleExports(), /bad module/);
    await engine.shutdown(true);
  });

  test('workers dying quietly while starting are retried, with back-off, before work fails', kT, async () => {
    const { engine, world } = engineWith({ workers: 1 }, { boot: 'die' });
    const outcome = await run(engine, 'square', [1]).outcome;
    assert.ok(!outcome.ok && outcome.error instanceof WorkerCrashed);
    assert.match(outcome.error.message, /while starting/);
    assert.equal(world.hosts.length, 3, 'three quiet failures before giving up');
    await engine.shutdown(true);
  });

  test('graceful shutdown lets a starting worker finish its start, then asks it to stop', kT, async () => {
    const { engine, world } = engineWith({ workers: 1 }, { boot: 'hold' });
    const stopped = engine.drain().then(() => engine.shutdown(true));
    const host = world.hosts[0] as FakeHost;
    await until(() => host.stopAsked, 'stop sent behind the init');
    assert.equal(host.exited, false, 'not killed while starting');
    host.ready();
    await stopped;
    assert.equal(host.exited, true);
  });

  test('terminate settles queued and running work with PoolClosed and kills every worker', kT, async () => {
    const { engine, world } = engineWith({ workers: 1 });
    const running = run(engine, 'hold', []);
    await until(() => (world.hosts[0] as FakeHost).holding.length === 1, 'running');
    const queued = run(engine, 'hold', []);
    await engine.shutdown(false);
    for (const r of [running, queued]) {
      const outcome = await r.outcome;
      assert.ok(!outcome.ok && outcome.error instanceof PoolClosed);
    }
    assert.ok(world.hosts.every((h) => h.exited));
    assert.equal(engine.closed, true);
    const late = await run(engine, 'square', [1]).outcome;
    assert.ok(!late.ok && late.error instanceof PoolClosed);
  });

  describe('scaling (minWorkers, idleTimeoutMs)', () => {
    test('options: minWorkers is an integer from 0 to workers; idleTimeoutMs is a timeout more than 0', kT, () => {
      assert.throws(() => resolvePoolOptions({ module: tasks, workers: 2, minWorkers: 3 }), /`minWorkers`.*between 0 and 2, got 3/);
      assert.throws(() => resolvePoolOptions({ module: tasks, minWorkers: -1 }), RangeError);
      assert.throws(() => resolvePoolOptions({ module: tasks, minWorkers: 1.5 }), TypeError);
      assert.throws(() => resolvePoolOptions({ module: tasks, idleTimeoutMs: 0 }), /`idleTimeoutMs`.*more than 0 ms.*got 0/);
      assert.throws(() => resolvePoolOptions({ module: tasks, idleTimeoutMs: -5 }), RangeError);
      assert.throws(() => resolvePoolOptions({ module: tasks, idleTimeoutMs: Number.NaN }), TypeError);
      const none = resolvePoolOptions({ module: tasks, workers: 3, idleTimeoutMs: Infinity });
      assert.deepEqual([none.minWorkers, none.idleTimeoutMs], [3, undefined]);
      const some = resolvePoolOptions({ module: tasks, workers: 3, minWorkers: 0, idleTimeoutMs: 10.2 });
      assert.deepEqual([some.minWorkers, some.idleTimeoutMs], [0, 11]);
    });

    test('a pool starts minWorkers, grows to workers while tasks wait, and idle workers exit down to minWorkers', kT, async () => {
      const { engine, world } = engineWith({ workers: 3, minWorkers: 1, idleTimeoutMs: 20 });
      await until(() => engine.workers().some((w) => w.state === 'ready'), 'the first worker ready');
      assert.equal(world.hosts.length, 1, 'only minWorkers started');
      const held = [run(engine, 'hold', []), run(engine, 'hold', []), run(engine, 'hold', [])];
      await until(() => world.hosts.length === 3 && world.hosts.every((h) => h.holding.length === 1), 'one task on each of 3');
      for (const host of world.hosts) host.answer(7);
      assert.deepEqual(await Promise.all(held.map((h) => h.outcome)), held.map(() => ({ ok: true, value: 7 })));
      await eventually(() => world.alive.length === 1 && engine.stats().workers === 1, 'two idle workers stopped');
      assert.equal(world.hosts.filter((h) => h.stopAsked).length, 2, 'asked to stop, not killed');
      // A burst brings them back, never more than `workers`.
      const burst = Array.from({ length: 5 }, () => run(engine, 'hold', []));
      await until(() => world.alive.length === 3 && world.alive.every((h) => h.holding.length > 0), 'three busy again');
      let answered = 0;
      while (answered < burst.length) {
        for (const h of world.alive) if (h.holding.length > 0) { h.answer(1); answered++; }
        await turn();
      }
      assert.ok((await Promise.all(burst.map((b) => b.outcome))).every((o) => o.ok));
      assert.equal(world.mostAlive, 3);
      const { crashed, restarts, failed } = engine.stats();
      assert.deepEqual({ crashed, restarts, failed }, { crashed: 0, restarts: 0, failed: 0 }, 'scaling is neither a crash nor a restart');
      await eventually(() => world.alive.length === 1, 'idle again');
      await engine.shutdown(true);
    });

    test('minWorkers 0: none start until a task; one arriving while the idle worker stops runs on a new one, uncharged', kT, async () => {
      const { engine, world } = engineWith({ workers: 1, minWorkers: 0, idleTimeoutMs: 20 });
      await turn();
      assert.equal(world.hosts.length, 0);
      assert.deepEqual(await run(engine, 'square', [3]).outcome, { ok: true, value: 9 });
      const first = world.hosts[0] as FakeHost;
      await eventually(() => first.stopAsked, 'the idle worker asked to stop');
      const late = run(engine, 'square', [4]);
      assert.deepEqual(await late.outcome, { ok: true, value: 16 });
      assert.equal(late.task.attempts, 0);
      assert.equal(first.received.length, 1, 'nothing sent to the stopping worker');
      assert.equal(world.hosts.length, 2);
      assert.equal(world.mostAlive, 1);
      assert.equal(engine.stats().crashed, 0);
      await eventually(() => world.alive.length === 0 && engine.stats().workers === 0, 'down to none');
      await engine.shutdown(true);
    });

    test('a crash while the pool scales down costs only the task that was running', kT, async () => {
      const { engine, world } = engineWith({ workers: 3, minWorkers: 1, idleTimeoutMs: 20 });
      const held = [run(engine, 'hold', []), run(engine, 'hold', []), run(engine, 'hold', [])];
      await until(() => world.hosts.length === 3 && world.hosts.every((h) => h.holding.length === 1), 'one task on each of 3');
      const [a, b, victim] = world.hosts as [FakeHost, FakeHost, FakeHost];
      a.answer(1);
      b.answer(2);
      await eventually(() => a.stopAsked && b.stopAsked, 'the two idle workers asked to stop');
      victim.die({ exitCode: null, signal: 'SIGKILL' });
      const outcomes = await Promise.all(held.map((h) => h.outcome));
      assert.deepEqual(outcomes.slice(0, 2), [{ ok: true, value: 1 }, { ok: true, value: 2 }]);
      const crash = outcomes[2];
      assert.ok(crash !== undefined && !crash.ok && crash.error instanceof WorkerCrashed);
      assert.equal(crash.error.attempts, 1);
      await eventually(() => world.alive.length === 1 && engine.stats().workers === 1, 'minWorkers kept');
      assert.equal(engine.stats().crashed, 1, 'only the killed worker crashed');
      assert.deepEqual(await run(engine, 'square', [5]).outcome, { ok: true, value: 25 });
      await engine.shutdown(true);
    });
  });
});
