// Output lines from different workers never interleave mid-line, and workers start
// fresh (spawn, never fork): seed 003's inherited held lock cannot happen here.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { repoRoot, tasks, tempDir } from '../helpers/index.js';

const kIndex = new URL('dist/index.js', repoRoot).href;

function runScript(dir: string, body: string): Promise<{ code: number | null; stdout: string }> {
  const script = join(dir, 'script.mjs');
  writeFileSync(script, `import { Pool } from ${JSON.stringify(kIndex)};\n` +
    `const tasks = new URL(${JSON.stringify(tasks.href)});\n${body}\n`);
  const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let stdout = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => { stdout += chunk; });
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout })));
}

for (const isolation of ['process', 'thread'] as const) {
  test(`'prefix' output: every line whole, tagged [worker-N pid] (${isolation})`, { timeout: 30_000 }, async (t) => {
    const dir = tempDir(t);
    const { code, stdout } = await runScript(dir,
      `const pool = new Pool({ module: tasks, workers: 3, isolation: '${isolation}' });\n` +
      "await Promise.all(['a', 'b', 'c', 'd', 'e', 'f'].map((tag) => pool.apply('logMany', [tag, 300])));\nawait pool.close();");
    assert.equal(code, 0);
    const lines = stdout.split('\n').filter(Boolean);
    assert.equal(lines.length, 1800);
    const pattern = isolation === 'process' ? /^\[worker-\d+ \d+\] [a-f] line \d+ x{200}$/ : /^\[worker-\d+ thread \d+\] [a-f] line \d+ x{200}$/;
    for (const line of lines) assert.match(line, pattern);
  });
}

test('workers start fresh: none of the parent\'s module state, locks or threads are inherited', { timeout: 30_000 }, async (t) => {
  // The parent holds its own lock-like state and keeps a thread logging in a tight
  // loop while 8 workers start: under fork() a child could inherit a held lock and
  // hang (seed 002); spawned workers start from nothing and all answer.
  const dir = tempDir(t);
  const meet = join(dir, 'meet');
  mkdirSync(meet);
  const { code, stdout } = await runScript(dir, `
    import { Worker } from 'node:worker_threads';
    globalThis.parentOnly = 'set in the parent';
    const logger = new Worker("const { parentPort } = require('node:worker_threads'); let n = 0;" +
      ' const spin = () => { for (let i = 0; i < 1000; i++) n++; setImmediate(spin); }; spin();', { eval: true });
    const pool = new Pool({ module: tasks, workers: 8 });
    // Each call returns only once all 8 workers are running at once: every one of them started.
    const met = await Promise.all(Array.from({ length: 8 }, () => pool.apply('rendezvous', [${JSON.stringify(meet)}, 8])));
    const inherited = await pool.apply('globalType', ['parentOnly']);
    console.log(JSON.stringify({ workers: Math.min(...met), inherited }));
    await pool.close();
    await logger.terminate();
  `);
  assert.equal(code, 0);
  const result = JSON.parse(stdout.trim()) as { workers: number; inherited: string };
  assert.equal(result.workers, 8, `only ${result.workers} of 8 workers started`);
  assert.equal(result.inherited, 'undefined');
});

test('a pool started from `node -e` runs its workers, not the parent script again', { timeout: 30_000 }, async () => {
  const { execFileSync } = await import('node:child_process');
  const script = `const { Pool } = await import('procsafe');
    const pool = new Pool({ module: ${JSON.stringify(tasks.href)}, workers: 2 });
    console.log('result', await pool.apply('square', [7]));
    await pool.close();`;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd: new URL('../../', import.meta.url), timeout: 20_000, encoding: 'utf8',
  });
  assert.equal(out.trim(), 'result 49');
});
