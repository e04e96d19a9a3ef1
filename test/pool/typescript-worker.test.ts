/**
 * A worker module written in TypeScript works when the parent runs under tsx: the workers
 * inherit `--import tsx` through execArgv, for both isolation modes.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { repoRoot, tempDir } from '../helpers/index.js';

const run = promisify(execFile);
const root = fileURLToPath(repoRoot);
/** The .ts source, not its compiled copy in dist-test. */
const tsModule = join(root, 'test/fixtures/ts-tasks.ts');

/** The parent: builds a one-worker pool over the .ts module, prints what the worker returned, closes the pool. */
const kScript = `
import { Pool } from ${JSON.stringify(pathToFileURL(join(root, 'dist/index.js')).href)};
const [module, isolation] = process.argv.slice(2);
const pool = new Pool({ module, workers: 1, isolation });
try {
  const result = await pool.apply('triple', [5]);
  const all = await pool.apply('tripleAll', [[1, 2]]);
  const place = await pool.apply('whereAmI', []);
  console.log(JSON.stringify({ result, all, place, parentPid: process.pid }));
} finally {
  await pool.close();
}
`;

interface Report {
  readonly result: number;
  readonly all: number[];
  readonly place: { readonly pid: number; readonly isMainThread: boolean };
  readonly parentPid: number;
}

/**
 * On Node 20, a worker thread gets no module hooks from its parent, and tsx registers its hooks
 * only on the main thread there, so `--import tsx` in the thread's execArgv is not enough:
 * the .ts import fails with ERR_UNKNOWN_FILE_EXTENSION. Reported; kept as todo until src handles it.
 */
const kThreadTodo = 'thread workers do not get the tsx hooks on Node 20 (ERR_UNKNOWN_FILE_EXTENSION)';

for (const isolation of ['process', 'thread'] as const) {
  describe(`isolation: ${isolation}`, () => {
    const todo = isolation === 'thread' ? kThreadTodo : undefined;
    test('a TypeScript worker module runs under tsx', { timeout: 60_000, todo }, async (t) => {
      const dir = tempDir(t);
      const script = join(dir, 'parent.mjs');
      writeFileSync(script, kScript);
      // cwd is the repository, so that '--import tsx' resolves the dev dependency.
      const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', script, tsModule, isolation], {
        cwd: root, timeout: 45_000, killSignal: 'SIGKILL',
      });
      const line = stdout.trim().split('\n').find((l) => l.startsWith('{'));
      assert.ok(line !== undefined, `no report on stdout:\n${stdout}\nstderr:\n${stderr}`);
      const report = JSON.parse(line) as Report;
      assert.equal(report.result, 15);
      assert.match(stdout, /"result":15/);
      assert.deepEqual(report.all, [3, 6]);
      assert.equal(report.place.isMainThread, isolation === 'process');
      if (isolation === 'process') assert.notEqual(report.place.pid, report.parentPid, 'ran in a child process');
      else assert.equal(report.place.pid, report.parentPid, 'ran in a thread of the parent');
      assert.doesNotMatch(stderr, /Error/, stderr);
    });
  });
}
