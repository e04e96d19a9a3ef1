/**
 * A worker module written in TypeScript works when the parent runs under tsx: the workers
 * inherit `--import tsx` through execArgv, for both isolation modes.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { Pool, RemoteError } from 'procsafe';
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

for (const isolation of ['process', 'thread'] as const) {
  describe(`isolation: ${isolation}`, () => {
    // On Node 20 `--import tsx` registers tsx's hooks on the main thread only; the thread worker registers them itself.
    test('a TypeScript worker module runs under tsx', { timeout: 60_000 }, async (t) => {
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

    test("new URL('./tasks.js', import.meta.url) beside a tasks.ts runs, as tsx maps .js to .ts", { timeout: 60_000 }, async (t) => {
      const dir = tempDir(t);
      writeFileSync(join(dir, 'package.json'), '{ "type": "module" }');
      copyFileSync(tsModule, join(dir, 'tasks.ts'));
      const script = join(dir, 'parent.mjs');
      writeFileSync(script, kScript);
      const args = ['--import', 'tsx', script, pathToFileURL(join(dir, 'tasks.js')).href, isolation];
      const { stdout, stderr } = await run(process.execPath, args, {
        cwd: root, timeout: 45_000, killSignal: 'SIGKILL',
      });
      assert.match(stdout, /"result":15,"all":\[3,6\]/, `stdout:\n${stdout}\nstderr:\n${stderr}`);
      assert.doesNotMatch(stderr, /Error/, stderr);
    });

    test('without tsx, a .js URL beside a .ts file fails saying what to write', { timeout: 30_000 }, async (t) => {
      const dir = tempDir(t);
      copyFileSync(tsModule, join(dir, 'tasks.ts'));
      const pool = new Pool({ module: pathToFileURL(join(dir, 'tasks.js')), workers: 1, isolation, execArgv: [], stderr: 'ignore' });
      t.after(() => pool.terminate());
      await assert.rejects(pool.apply('triple', [5]), (error: unknown) => {
        assert.ok(error instanceof RemoteError);
        assert.equal(error.remoteCode, 'ERR_PROCSAFE_NO_TS_LOADER');
        assert.match(error.message, /tasks\.js: there is no such file, but there is .*tasks\.ts; run the parent under tsx/);
        assert.match(error.message, /new URL\('\.\/tasks\.ts', import\.meta\.url\)/);
        return true;
      });
    });

    test('a .ts module outside a "type": "module" package (CommonJS to tsx) runs too', { timeout: 60_000 }, async (t) => {
      const dir = tempDir(t);
      writeFileSync(join(dir, 'package.json'), '{ "type": "commonjs" }');
      const module = join(dir, 'cjs-tasks.ts');
      writeFileSync(module, 'export function add(a: number, b: number): number { return a + b; }\n');
      const script = join(dir, 'parent.mjs');
      writeFileSync(script, kScript.replace(/const result = .*\n/, "const result = await pool.apply('add', [7, 8]);\n")
        .replace(/const all = .*\n/, 'const all = [];\n').replace(/const place = .*\n/, "const place = await pool.apply('nope', []).then(() => ({}), (error) => ({ message: error.message }));\n"));
      const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', script, module, isolation], {
        cwd: root, timeout: 45_000, killSignal: 'SIGKILL',
      });
      assert.match(stdout, /"result":15/, `stdout:\n${stdout}\nstderr:\n${stderr}`);
      assert.match(stdout, /no export named \\"nope\\"; its function exports are: add/, 'an unknown name lists the functions found on the default export');
    });
  });
}
