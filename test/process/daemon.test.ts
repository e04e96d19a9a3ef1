// As in Python, a Process outlives a parent that dies, and a daemon Process is
// stopped with its parent, however the parent dies. A non-daemon Process also
// keeps its parent's event loop alive until it exits; a daemon does not.
// Proven with a real parent script killed by SIGKILL and by polling pids.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { test, type TestContext } from 'node:test';
import { fixture, isAlive, repoRoot, tempDir, waitForExit } from '../helpers/index.js';

const kIndex = new URL('dist/index.js', repoRoot).href;
const procTasks = fixture('proc-tasks.mjs');

/** Starts a parent script running `body`; resolves with it once it printed a JSON line of pids. */
async function startParent(t: TestContext, dir: string, body: string) {
  const script = join(dir, 'parent.mjs');
  writeFileSync(script, `import { Process } from ${JSON.stringify(kIndex)};\n` +
    `const procTasks = new URL(${JSON.stringify(procTasks.href)});\n${body}\n`);
  const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL'); });
  let output = '';
  child.stdout.setEncoding('utf8');
  const pids = await new Promise<Record<string, number>>((resolve, reject) => {
    child.stdout.on('data', (chunk: string) => {
      output += chunk;
      const line = /^pids (.*)$/m.exec(output);
      if (line) resolve(JSON.parse(line[1] as string) as Record<string, number>);
    });
    child.once('exit', (code) => reject(new Error(`parent exited early with ${code}: ${output}`)));
  });
  for (const pid of Object.values(pids)) t.after(() => { if (isAlive(pid)) process.kill(pid, 'SIGKILL'); });
  return { child, pids, output: () => output };
}

/** The tick count tickForever writes to `path` (0 before the first). */
function ticks(path: string): number {
  try {
    return Number(readFileSync(path, 'utf8')) || 0;
  } catch {
    return 0;
  }
}

async function waitForTicks(path: string, atLeast: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (ticks(path) < atLeast) {
    if (Date.now() > deadline) assert.fail(`tick count stayed at ${ticks(path)}, below ${atLeast}, for ${timeoutMs} ms`);
    await sleep(10);
  }
}

test('parent killed by SIGKILL: its daemon Process dies within 3 s, its non-daemon Process runs on', { timeout: 60_000 }, async (t) => {
  const dir = tempDir(t);
  const tickFile = join(dir, 'ticks');
  const { child, pids } = await startParent(t, dir, `
    const daemon = new Process({ module: procTasks, fn: 'hang', daemon: true });
    const keeper = new Process({ module: procTasks, fn: 'tickForever', args: [${JSON.stringify(tickFile)}] });
    await Promise.all([daemon.start(), keeper.start()]);
    console.log('pids ' + JSON.stringify({ daemon: daemon.pid, keeper: keeper.pid }));
    setInterval(() => {}, 1000);
  `);
  const { daemon, keeper } = pids as { daemon: number; keeper: number };
  // The non-daemon writes prefixed output through the parent: wait until it is really running.
  await waitForTicks(tickFile, 3);
  child.kill('SIGKILL');
  await once(child, 'exit');
  // The daemon is busy in a CPU loop that never looks at its parent: the watchdog thread ends it.
  assert.ok(await waitForExit(daemon, 3000), `daemon ${daemon} outlived its parent`);
  // The non-daemon's stdout and stderr now go to broken pipes (EPIPE): it keeps running and writing.
  const after = ticks(tickFile);
  await waitForTicks(tickFile, after + 10);
  assert.ok(isAlive(keeper), `non-daemon ${keeper} died with its parent`);
  process.kill(keeper, 'SIGKILL');
  assert.ok(await waitForExit(keeper, 3000));
});

test('parent calling process.exit(): its daemon dies, its non-daemon runs on', { timeout: 60_000 }, async (t) => {
  const dir = tempDir(t);
  const tickFile = join(dir, 'ticks');
  const { child, pids } = await startParent(t, dir, `
    const daemon = new Process({ module: procTasks, fn: 'sleep', args: [60_000], daemon: true });
    const keeper = new Process({
      module: procTasks, fn: 'tickForever', args: [${JSON.stringify(tickFile)}], stdout: 'ignore', stderr: 'ignore',
    });
    await Promise.all([daemon.start(), keeper.start()]);
    console.log('pids ' + JSON.stringify({ daemon: daemon.pid, keeper: keeper.pid }));
    process.exit(0);
  `);
  const { daemon, keeper } = pids as { daemon: number; keeper: number };
  const [code] = await once(child, 'exit') as [number | null];
  assert.equal(code, 0);
  assert.ok(await waitForExit(daemon, 3000), `daemon ${daemon} outlived its parent`);
  await waitForTicks(tickFile, ticks(tickFile) + 5);
  assert.ok(isAlive(keeper), `non-daemon ${keeper} died with its parent`);
  process.kill(keeper, 'SIGKILL');
});

test('a non-daemon Process keeps its parent alive until it exits; a daemon does not', { timeout: 60_000 }, async (t) => {
  const dir = tempDir(t);
  const timerFile = join(dir, 'timer');
  // The parent never joins: its event loop still waits for the non-daemon (as Python joins them at exit) …
  const { child, output } = await startParent(t, dir, `
    import { existsSync } from 'node:fs';
    const p = new Process({ module: procTasks, fn: 'leaveTimer', args: [${JSON.stringify(timerFile)}, 300] });
    await p.start();
    process.on('exit', () => console.log(existsSync(${JSON.stringify(timerFile)}) ? 'exited after the child' : 'exited before the child'));
    console.log('pids ' + JSON.stringify({ p: p.pid }));
  `);
  const [code] = await once(child, 'exit') as [number | null];
  assert.equal(code, 0);
  assert.match(output(), /exited after the child/);

  // … but not for a daemon, which then dies with it.
  const second = await startParent(t, dir, `
    const p = new Process({ module: procTasks, fn: 'sleep', args: [60_000], daemon: true });
    await p.start();
    console.log('pids ' + JSON.stringify({ p: p.pid }));
  `);
  const [secondCode] = await once(second.child, 'exit') as [number | null];
  assert.equal(secondCode, 0);
  assert.ok(await waitForExit(second.pids['p'] as number, 3000), 'the daemon outlived its parent');
});

test('join() on a daemon holds the event loop until the daemon exits', { timeout: 60_000 }, async (t) => {
  const dir = tempDir(t);
  const { child, output } = await startParent(t, dir, `
    const p = new Process({ module: procTasks, fn: 'sleep', args: [300], daemon: true });
    await p.start();
    console.log('pids ' + JSON.stringify({ p: p.pid }));
    console.log('joined ' + JSON.stringify(await p.join()));
  `);
  const [code] = await once(child, 'exit') as [number | null];
  assert.equal(code, 0);
  assert.match(output(), /joined \{"exitCode":0,"signal":null\}/);
});
