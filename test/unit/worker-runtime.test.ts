/** WorkerRuntime (the child's side of the pool protocol) driven through a fake port, frame by frame. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WorkerRuntime } from '../../dist/child/runtime.js';
import { encodeFrame } from '../../dist/codec/value-frame.js';
import { encodeBare, FrameDecoder, parseFrame } from '../../dist/transport/frame.js';
import { encodeBatch } from '../../dist/codec/task-args.js';
import { kFromChild, kToChild } from '../../dist/child/protocol.js';
import type { Task } from '../../dist/pool/task.js';
import { fixture } from '../helpers/index.js';

const kT = { timeout: 10_000 };

function task(id: number, fn: string, args: unknown[]): Task {
  return { id, fn, args, chunk: false, state: 'sent', slot: undefined, attempts: 0, cleanup: undefined, done: () => {} };
}

/** A runtime and the frames it answers with, as { type, id } in order. */
async function started(): Promise<{ runtime: WorkerRuntime; answers: { type: number; id: number }[]; next: () => Promise<void> }> {
  const answers: { type: number; id: number }[] = [];
  const decoder = new FrameDecoder(1 << 20);
  let wake: (() => void) | undefined;
  const runtime = new WorkerRuntime({
    send: (frame) => {
      for (const chunk of Buffer.isBuffer(frame) ? [frame] : frame) {
        decoder.push(chunk, (body: Buffer) => {
          const parsed = parseFrame(body);
          answers.push({ type: parsed.type, id: parsed.id });
          wake?.();
        });
      }
    },
    exit: () => {},
  });
  const next = (): Promise<void> => new Promise<void>((resolve) => { wake = resolve; });
  const ready = next();
  runtime.receive(Buffer.concat(encodeFrame(kToChild.Init, 0, '', {
    module: fixture('tasks.mjs').href, initializer: undefined, initArgs: [], workerId: 1, name: 'test', maxMessageBytes: 1 << 20,
  }, 'init', 'init')));
  await ready;
  assert.equal(answers.shift()?.type, kFromChild.Ready);
  return { runtime, answers, next };
}

test('a cancel that arrives after its task ran is forgotten: a later task with that id still runs', kT, async () => {
  const { runtime, answers, next } = await started();
  const fail = (): void => assert.fail('the batch could not be encoded');
  let answered = next();
  runtime.receive(Buffer.concat(encodeBatch([task(7, 'inc', [1])], 1 << 20, fail)));
  await answered;
  assert.deepEqual(answers.splice(0), [{ type: kFromChild.OkNumber, id: 7 }]);
  // The cancel crossed the answer: task 7 is done with.
  runtime.receive(encodeBare(kToChild.Cancel, 7));
  answered = next();
  runtime.receive(Buffer.concat(encodeBatch([task(7, 'inc', [2])], 1 << 20, fail)));
  await answered;
  assert.deepEqual(answers.splice(0), [{ type: kFromChild.OkNumber, id: 7 }], 'run, not skipped');
});

test('a cancel of a task still waiting behind a running one skips it, and only it', kT, async () => {
  const { runtime, answers, next } = await started();
  const fail = (): void => assert.fail('the batch could not be encoded');
  // Three tasks in one batch; the first sleeps, so the cancel reaches the second while it waits.
  runtime.receive(Buffer.concat(encodeBatch([task(1, 'sleep', [50]), task(2, 'inc', [1]), task(3, 'inc', [2])], 1 << 20, fail)));
  runtime.receive(encodeBare(kToChild.Cancel, 2));
  while (answers.length < 3) await next();
  assert.deepEqual(answers.map((a) => a.id), [1, 2, 3]);
  assert.equal(answers[1]?.type, kFromChild.Skipped);
  assert.equal(answers[2]?.type, kFromChild.OkNumber);
});
