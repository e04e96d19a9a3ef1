// Process output in 'prefix' mode arrives whole line by whole line, tagged
// [name pid], and all of it before join() resolves; and processes start fresh
// (spawn, never fork): seed 002's logging lock held by a thread at fork time
// cannot be inherited, so 50 processes started at once beside a logging thread
// all run and exit 0.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fixture, repoRoot, tempDir } from '../helpers/index.js';

const kIndex = new URL('dist/index.js', repoRoot).href;
const procTasks = fixture('proc-tasks.mjs');

/** Runs `body` as a parent script with `Process` and `procTasks` in scope; resolves with its exit code and output. */
function runParent(dir: string, body: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const script = join(dir, 'parent.mjs');
  writeFileSync(script, `import { Process } from ${JSON.stringify(kIndex)};\n` +
    `const procTasks = new URL(${JSON.stringify(procTasks.href)});\n${body}\n`);
  const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => { stdout += chunk; });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk; });
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
}

interface Started { readonly name: string; readonly pid: number; readonly tag: string }

test("'prefix' output: every line whole, tagged [name pid], all of it before join() resolves", { timeout: 30_000 }, async (t) => {
  const { code, stdout, stderr } = await runParent(tempDir(t), `
    const tags = ['a', 'b', 'c'];
    const ps = tags.map((tag) => new Process({ module: procTasks, fn: 'logMany', args: [tag, 300] }));
    const named = new Process({ module: procTasks, fn: 'writeBoth', args: ['no newline at the end', 'err 1\\nerr 2\\n'], name: 'writer' });
    await Promise.all([...ps, named].map((p) => p.start()));
    const results = await Promise.all([...ps, named].map((p) => p.join()));
    const started = ps.map((p, i) => ({ name: p.name, pid: p.pid, tag: tags[i] }));
    console.log('joined ' + JSON.stringify({ results, started, writer: named.pid }));
  `);
  assert.equal(code, 0, stderr);
  const lines = stdout.split('\n');
  assert.equal(lines.pop(), '');
  // join() waited for the last line of every process: the parent's own line comes after all of them.
  const last = lines.pop() as string;
  assert.match(last, /^joined /);
  const report = JSON.parse(last.slice('joined '.length)) as { results: unknown[]; started: Started[]; writer: number };
  assert.deepEqual(report.results, Array(4).fill({ exitCode: 0, signal: null }));
  const byPrefix = new Map(report.started.map((s) => [`[${s.name} ${s.pid}]`, s.tag]));
  const seen = new Map<string, number>();
  for (const line of lines) {
    if (line === `[writer ${report.writer}] no newline at the end`) continue;
    const match = /^(\[Process-\d+ \d+\]) ([a-c]) line (\d+) x{200}$/.exec(line);
    assert.ok(match, `a line was split or merged: ${JSON.stringify(line.slice(0, 80))}`);
    const [, prefix, tag, n] = match as unknown as [string, string, string, string];
    assert.equal(byPrefix.get(prefix), tag, `line of ${tag} tagged ${prefix}`);
    // Each process's lines arrive in order.
    assert.equal(Number(n), seen.get(tag) ?? 0);
    seen.set(tag, Number(n) + 1);
  }
  assert.deepEqual(Object.fromEntries(seen), { a: 300, b: 300, c: 300 });
  assert.ok(lines.includes(`[writer ${report.writer}] no newline at the end`), 'a last line without a newline is forwarded at exit');
  assert.match(stderr, new RegExp(`^\\[writer ${report.writer}\\] err 1\\n\\[writer ${report.writer}\\] err 2\\n`, 'm'));
});

test('50 processes started at once beside a thread logging in a loop all run, exit 0, and never interleave mid-line',
  { timeout: 90_000 }, async (t) => {
  // Under fork() a child could inherit the logging thread's held lock and hang (seed 002).
  // Spawned children start from nothing, so every one of them starts, logs and exits.
  const { code, stdout, stderr } = await runParent(tempDir(t), `
    import { Worker } from 'node:worker_threads';
    const logger = new Worker(\`
      let n = 0;
      const burst = () => { for (let i = 0; i < 50; i++) console.log('thread ' + n++); setImmediate(burst); };
      burst();
    \`, { eval: true });
    const ps = Array.from({ length: 50 }, (_, i) => new Process({ module: procTasks, fn: 'logMany', args: ['p' + i, 20] }));
    await Promise.all(ps.map((p) => p.start()));
    const results = await Promise.all(ps.map((p) => p.join()));
    await logger.terminate();
    console.log('joined ' + JSON.stringify({ results, started: ps.map((p, i) => ({ name: p.name, pid: p.pid, tag: 'p' + i })) }));
  `);
  assert.equal(code, 0, stderr);
  const lines = stdout.split('\n');
  assert.equal(lines.pop(), '');
  // The thread's last lines may still be on their way to the main thread's stdout after this one.
  const joined = lines.findIndex((line) => line.startsWith('joined '));
  assert.notEqual(joined, -1, 'the parent never reported');
  const report = JSON.parse((lines.splice(joined, 1)[0] as string).slice('joined '.length)) as { results: unknown[]; started: Started[] };
  assert.deepEqual(report.results, Array(50).fill({ exitCode: 0, signal: null }));
  assert.equal(new Set(report.started.map((s) => s.pid)).size, 50);
  const byPrefix = new Map(report.started.map((s) => [`[${s.name} ${s.pid}]`, s.tag]));
  const counts = new Map<string, number>();
  let threadLines = 0;
  for (const line of lines) {
    if (/^thread \d+$/.test(line)) {
      threadLines++;
      continue;
    }
    const match = /^(\[Process-\d+ \d+\]) (p\d+) line (\d+) x{200}$/.exec(line);
    assert.ok(match, `a line was split or merged: ${JSON.stringify(line.slice(0, 80))}`);
    const [, prefix, tag] = match as unknown as [string, string, string];
    assert.equal(byPrefix.get(prefix), tag);
    counts.set(tag, (counts.get(tag) ?? 0) + 1);
  }
  assert.equal(counts.size, 50);
  for (const [tag, n] of counts) assert.equal(n, 20, `${tag} logged ${n} lines`);
  assert.ok(threadLines > 0, 'the logging thread ran while the processes started');
});
