/**
 * Proves that the type checking of `Pool<typeof import(...)>` bites: a small project that calls
 * `pool.apply('nope')` on a typed pool must fail to compile, naming 'nope', while the same
 * project without that line compiles. It uses the repository's compiler options and reaches
 * procsafe through its package exports (dist/index.d.ts), as a user's project does.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { repoRoot, tempDir } from '../helpers/index.js';

const run = promisify(execFile);
const root = fileURLToPath(repoRoot);
const tsc = join(root, 'node_modules/typescript/bin/tsc');

interface TscResult { readonly code: number; readonly output: string }

async function typeCheck(dir: string): Promise<TscResult> {
  try {
    const { stdout, stderr } = await run(process.execPath, [tsc, '-p', dir, '--pretty', 'false'], { cwd: dir, timeout: 50_000 });
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const failed = error as { code?: unknown; stdout?: string; stderr?: string };
    return { code: typeof failed.code === 'number' ? failed.code : -1, output: `${failed.stdout ?? ''}${failed.stderr ?? ''}` };
  }
}

const kGood = `import { Pool } from 'procsafe';
type Tasks = typeof import('./typed-tasks.js');
export async function good(pool: Pool<Tasks>): Promise<number> {
  const s: string = await pool.apply('greet', ['a', 1]);
  return (await pool.apply('square', [3])) + s.length;
}
`;

const kBad = `import { Pool } from 'procsafe';
type Tasks = typeof import('./typed-tasks.js');
export async function bad(pool: Pool<Tasks>): Promise<unknown> {
  return pool.apply('nope', []);
}
`;

test('a typed pool refuses an unknown export name at compile time', { timeout: 60_000 }, async (t) => {
  const dir = tempDir(t);
  // node_modules/procsafe is this repository, as an installed copy would be; @types/node comes along.
  mkdirSync(join(dir, 'node_modules'));
  symlinkSync(root, join(dir, 'node_modules/procsafe'), 'dir');
  symlinkSync(join(root, 'node_modules/@types'), join(dir, 'node_modules/@types'), 'dir');
  copyFileSync(join(root, 'test/types/typed-tasks.ts'), join(dir, 'typed-tasks.ts'));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({
    extends: join(root, 'tsconfig.json'),
    compilerOptions: { noEmit: true, rootDir: '.' },
    include: ['*.ts'],
  }));
  writeFileSync(join(dir, 'good.ts'), kGood);

  const clean = await typeCheck(dir);
  assert.equal(clean.code, 0, `the project without the wrong name compiles:\n${clean.output}`);

  writeFileSync(join(dir, 'bad.ts'), kBad);
  const broken = await typeCheck(dir);
  assert.notEqual(broken.code, 0, 'apply(\'nope\') must not compile');
  const errors = broken.output.split('\n').filter((line) => /error TS\d+/.test(line));
  assert.equal(errors.length, 1, broken.output);
  assert.match(errors[0] as string, /^bad\.ts\(4,\d+\): error TS\d+: .*"nope"/);
});
