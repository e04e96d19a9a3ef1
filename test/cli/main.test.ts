// The `procsafe` binary itself: --version, --help, and how it reports a bad command line.
import { cpSync, mkdirSync, readFileSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { type Ran, runNode } from '../helpers/children.js';
import { tempDir } from '../helpers/index.js';

// Compiled to dist-test/cli/: the repository root is two levels up.
const root = fileURLToPath(new URL('../../', import.meta.url));

function run(t: TestContext, script: string, args: string[], cwd = root): Promise<Ran> {
  return runNode(t, [script, ...args], { cwd });
}

test('--version and -V print the version of the installed package, read next to the running file', { timeout: 30_000 }, async (t) => {
  const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
  const [long, short] = await Promise.all([run(t, 'dist/cli/main.js', ['--version']), run(t, 'dist/cli/main.js', ['-V'])]);
  for (const result of [long, short]) {
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, `${version}\n`);
    assert.equal(result.stderr, '');
  }
  // An installed copy elsewhere, run from another directory: its own package.json, not the one of the working directory.
  const dir = tempDir(t);
  const installed = join(dir, 'node_modules', 'procsafe');
  mkdirSync(installed, { recursive: true });
  cpSync(join(root, 'dist'), join(installed, 'dist'), { recursive: true });
  symlinkSync(realpathSync(join(root, 'node_modules')), join(installed, 'node_modules'));
  const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as Record<string, unknown>;
  writeFileSync(join(installed, 'package.json'), JSON.stringify({ ...manifest, version: '9.8.7-test' }));
  const other = await run(t, join(installed, 'dist', 'cli', 'main.js'), ['-V'], dir);
  assert.equal(other.code, 0, other.stderr);
  assert.equal(other.stdout, '9.8.7-test\n');
});

test('a bad option of the binary itself is one line and a pointer to --help, exit 2', { timeout: 30_000 }, async (t) => {
  const result = await run(t, 'dist/cli/main.js', ['--nope']);
  assert.equal(result.code, 2);
  assert.equal(result.stdout, '');
  assert.equal(result.stderr, "procsafe: unknown option '--nope'\nSee procsafe --help.\n");
  const help = await run(t, 'dist/cli/main.js', ['--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^ {2}-V, --version +print procsafe's version$/m);
});
