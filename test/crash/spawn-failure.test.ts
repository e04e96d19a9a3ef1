// A child that cannot be spawned (no file descriptors left: EMFILE) is a failed
// boot, never the end of the parent: waiting work is told why, and once
// descriptors are free again the pool serves. Run in a parent with a low fd limit.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { fixture, repoRoot } from '../helpers/index.js';

interface Step {
  readonly step: string;
  readonly ok?: boolean;
  readonly value?: unknown;
  readonly message?: string;
  readonly code?: string;
  readonly remoteCode?: string;
}

test('EMFILE at spawn fails the work with a clear error (process and thread pools), Process.start() rejects, ' +
  'and all serve again once fds are free', { timeout: 60_000 }, async (t) => {
  const script = fileURLToPath(fixture('spawn-failure.mjs'));
  // cwd is the repository, so that the fixture's `import 'procsafe'` resolves to this package.
  const child = spawn('/bin/sh', ['-c', `ulimit -n 64; exec "${process.execPath}" "${script}"`], {
    cwd: fileURLToPath(repoRoot), stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.after(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL'); });
  const timer = setTimeout(() => child.kill('SIGKILL'), 45_000);
  t.after(() => clearTimeout(timer));
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => { stdout += chunk; });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk; });
  const [code] = await once(child, 'close') as [number | null];
  const steps = new Map<string, Step>();
  for (const line of stdout.split('\n')) if (line.startsWith('{')) steps.set((JSON.parse(line) as Step).step, JSON.parse(line) as Step);
  const context = `exit ${code}\nstdout:\n${stdout}\nstderr:\n${stderr}`;

  assert.equal(steps.get('exhausted')?.code, 'EMFILE', context);
  for (const [name, subject] of [['one', 'process'], ['eight', 'process'], ['thread', 'thread']] as const) {
    const step = steps.get(name);
    assert.ok(step !== undefined, `the parent died at the failed spawn (${name}):\n${context}`);
    assert.equal(step.ok, false, context);
    assert.equal(step.remoteCode, 'EMFILE', context);
    assert.match(step.message ?? '',
      new RegExp(`failed to load: its ${subject} could not be spawned: too many open files \\(EMFILE\\)`), context);
    assert.match(step.message ?? '', /ulimit -n/, 'the message says what to do');
  }
  const start = steps.get('process');
  assert.equal(start?.ok, false, context);
  assert.equal(start.code, 'EMFILE', context);
  assert.match(start.message ?? '', /^Process-\d+ could not be spawned: too many open files \(EMFILE\).*ulimit -n/, context);
  assert.equal(steps.get('process-join')?.code, 'EMFILE', context);

  assert.deepEqual(steps.get('one-again'), { step: 'one-again', ok: true, value: 11 }, context);
  assert.deepEqual(steps.get('thread-again'), { step: 'thread-again', ok: true, value: 11 }, context);
  assert.deepEqual(steps.get('process-again'), { step: 'process-again', ok: true, value: { exitCode: 0, signal: null } }, context);
  assert.ok(steps.has('done'), context);
  assert.equal(code, 0, context);
});
