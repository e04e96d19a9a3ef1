// Pool workers never outlive their pool's process, however it ends: SIGKILL while
// workers are busy in CPU-bound code or idle, process.exit(), or simply returning
// without close(). Proven by polling the workers' pids.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { childPids, isAlive, repoRoot, tasks, tempDir, waitForExit } from '../helpers/index.js';

const kIndex = new URL('dist/index.js', repoRoot).href;

/** Starts a parent process running `body` with `pool` in scope; resolves when it printed "ready". */
async function startParent(t: TestContext, body: string, stdin: 'ignore' | 'pipe' = 'ignore') {
  const dir = tempDir(t);
  const script = join(dir, 'parent.mjs');
  writeFileSync(script, `import { Pool } from ${JSON.stringify(kIndex)};\n` +
    `const pool = new Pool({ module: new URL(${JSON.stringify(tasks.href)}), workers: 2 });\n${body}\n`);
  const child = spawn(process.execPath, [script], { stdio: [stdin, 'pipe', 'inherit'] });
  t.after(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL'); });
  let output = '';
  const stdout = child.stdout;
  assert.ok(stdout !== null);
  stdout.setEncoding('utf8');
  await new Promise<void>((resolve, reject) => {
    stdout.on('data', (chunk: string) => { output += chunk; if (output.includes('ready')) resolve(); });
    child.once('exit', (code) => reject(new Error(`parent exited early with ${code}: ${output}`)));
  });
  const workers = childPids(child.pid as number);
  assert.equal(workers.length, 2, `expected 2 workers, found ${workers.join(' ')}`);
  t.after(() => { for (const pid of workers) if (isAlive(pid)) process.kill(pid, 'SIGKILL'); });
  return { child, workers };
}

async function assertAllGone(pids: number[]): Promise<void> {
  for (const pid of pids) assert.ok(await waitForExit(pid, 3000), `worker ${pid} outlived its parent`);
}

test('workers busy in CPU-bound tasks die with a parent killed by SIGKILL', { timeout: 30_000 }, async (t) => {
  const { child, workers } = await startParent(t,
    "await Promise.all([pool.apply('square', [1]), pool.apply('square', [2])]);\n" +
    "pool.apply('hang').catch(() => {}); pool.apply('hang').catch(() => {});\n" +
    "setTimeout(() => console.log('ready'), 200);");
  child.kill('SIGKILL');
  await once(child, 'exit');
  await assertAllGone(workers);
});

test('idle workers die with a parent killed by SIGKILL', { timeout: 30_000 }, async (t) => {
  const { child, workers } = await startParent(t,
    "await Promise.all([pool.apply('square', [1]), pool.apply('square', [2])]);\nconsole.log('ready');\nsetInterval(() => {}, 1000);");
  child.kill('SIGKILL');
  await once(child, 'exit');
  await assertAllGone(workers);
});

test('workers die when the parent calls process.exit() mid-task', { timeout: 30_000 }, async (t) => {
  const { child, workers } = await startParent(t,
    "await Promise.all([pool.apply('square', [1]), pool.apply('square', [2])]);\n" +
    "pool.apply('hang').catch(() => {});\nconsole.log('ready');\nsetTimeout(() => process.exit(0), 100);");
  await once(child, 'exit');
  await assertAllGone(workers);
});

test('a script that forgets close() still exits, and takes its workers along', { timeout: 30_000 }, async (t) => {
  // The script holds on until the test has listed its workers (a line on stdin), then just returns.
  const { child, workers } = await startParent(t,
    "console.log(await pool.apply('square', [4]), await pool.apply('square', [5]));\nconsole.log('ready');\n" +
    "await new Promise((resolve) => process.stdin.once('data', resolve));\nprocess.stdin.destroy();", 'pipe');
  const exited = once(child, 'exit');
  child.stdin?.end('go\n');
  const [code] = await exited as [number | null];
  assert.equal(code, 0);
  await assertAllGone(workers);
});
