// SPEC "Transport": installing procsafe never needs a compiler where a prebuilt binary fits, and a missing addon falls
// back to sockets with one logged line, never an error. `npm pack` (its prepack builds prebuilds/ with prebuildify) makes
// the tarball a user would get; a fresh project installs it offline from npm's cache, with a PATH that holds node, npm
// and sh and nothing else (no cc, gcc, g++, make or python3), and runs a queue through a child Process.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { accessSync, constants, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync,
  symlinkSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

// Compiled to dist-test/install/: the repository root is two levels up.
const root = fileURLToPath(new URL('../../', import.meta.url));
const fixtures = join(root, 'test', 'fixtures', 'install');
const linuxX64 = process.platform === 'linux' && process.arch === 'x64';
const kStepMs = 90_000;

interface Ran { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }

const running = new Set<number>();
/** Runs a command in its own process group, killed whole (npm, its scripts, a Process child) if it outlives kStepMs. */
function run(command: string, args: string[], options: { cwd: string; env: NodeJS.ProcessEnv }): Promise<Ran> {
  const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const pid = child.pid;
  if (pid !== undefined) running.add(pid);
  const killGroup = (): void => {
    if (pid === undefined) return;
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // the group is gone
    }
  };
  const timer = setTimeout(killGroup, kStepMs);
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => { stdout += chunk; });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk; });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      killGroup(); // what it left behind, if anything
      if (pid !== undefined) running.delete(pid);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** The environment of a shell that did not come from `npm test`: no npm_* variables leaking into the npm runs below. */
function cleanEnv(extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!/^npm_/i.test(key)) env[key] = value;
  return { ...env, ...extra };
}

/** npm's own script (npm-cli.js), found where this shell finds `npm`. */
function npmCli(): string {
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    const candidate = join(dir, 'npm');
    try {
      accessSync(candidate, constants.X_OK);
      return realpathSync(candidate);
    } catch {
      // not here
    }
  }
  throw new Error('npm is not on PATH');
}

let work = '';
let tarball = '';
let hadPrebuilds = false;

before(async () => {
  if (!linuxX64) return;
  work = mkdtempSync(join(tmpdir(), 'procsafe-pack-'));
  hadPrebuilds = existsSync(join(root, 'prebuilds'));
  const packed = join(work, 'packed');
  mkdirSync(packed);
  const pack = await run(process.execPath, [npmCli(), 'pack', '--pack-destination', packed], { cwd: root, env: cleanEnv({}) });
  assert.equal(pack.code, 0, `npm pack failed:\n${pack.stderr}\n${pack.stdout}`);
  const files = readdirSync(packed).filter((f) => f.endsWith('.tgz'));
  assert.equal(files.length, 1, `npm pack made ${files.join(', ') || 'no tarball'}`);
  tarball = join(packed, files[0] ?? '');
});

after(() => {
  for (const pid of running) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  if (work !== '') rmSync(work, { recursive: true, force: true });
  // prebuilds/ is for the tarball (and ignored by git): leave the tree as the test found it.
  if (linuxX64 && !hadPrebuilds) rmSync(join(root, 'prebuilds'), { recursive: true, force: true });
});

/**
 * A fresh project depending on `tgz`, with a lockfile whose other entries are procsafe's own production dependencies as
 * its package-lock.json pins them: `npm ci --offline` then resolves everything from npm's cache, as after `npm ci` here.
 */
function project(name: string, tgz: string): string {
  const dir = join(work, name);
  mkdirSync(dir);
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as
    { packages: Record<string, { dev?: boolean; devOptional?: boolean }> };
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
    version: string; license: string; dependencies: Record<string, string>; bin: unknown; engines: unknown;
    scripts: Record<string, string>;
  };
  const spec = `file:${tgz}`;
  const packages: Record<string, unknown> = {
    '': { name, version: '1.0.0', dependencies: { procsafe: spec } },
    'node_modules/procsafe': {
      version: pkg.version, resolved: spec, license: pkg.license, dependencies: pkg.dependencies, bin: pkg.bin,
      engines: pkg.engines, hasInstallScript: pkg.scripts['install'] !== undefined,
    },
  };
  for (const [path, entry] of Object.entries(lock.packages)) {
    if (path !== '' && entry.dev !== true && entry.devOptional !== true) packages[path] = entry;
  }
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, version: '1.0.0', private: true, type: 'module',
    dependencies: { procsafe: spec } }, null, 2));
  writeFileSync(join(dir, 'package-lock.json'), JSON.stringify({ name, version: '1.0.0', lockfileVersion: 3, requires: true,
    packages }, null, 2));
  for (const file of ['consumer.mjs', 'consumer-tasks.mjs']) copyFileSync(join(fixtures, file), join(dir, file));
  return dir;
}

/** A PATH of one directory: node, npm and sh, as on a machine with Node but no build tools. */
function bareEnv(): NodeJS.ProcessEnv {
  const bin = join(work, 'bin');
  if (!existsSync(bin)) {
    mkdirSync(bin);
    symlinkSync(process.execPath, join(bin, 'node'));
    symlinkSync(npmCli(), join(bin, 'npm'));
    symlinkSync('/bin/sh', join(bin, 'sh'));
  }
  for (const tool of ['cc', 'gcc', 'g++', 'make', 'python3', 'python']) assert.equal(existsSync(join(bin, tool)), false);
  // HOME for npm's cache and user config; nothing else of this shell.
  return { PATH: bin, HOME: process.env['HOME'] ?? homedir(), ...(process.env['TMPDIR'] ? { TMPDIR: process.env['TMPDIR'] } : {}) };
}

interface Seen {
  got: unknown;
  exit: unknown;
  shared: { value?: number; error?: string; procsafe?: boolean };
  addon: string;
  warnings: string[];
}

/** Installs `tgz` into a fresh project with no compiler on PATH, offline, and runs the consumer there. */
async function installAndRun(name: string, tgz: string): Promise<{ seen: Seen; install: Ran; consumer: Ran; dir: string }> {
  const dir = project(name, tgz);
  const env = bareEnv();
  const install = await run(process.execPath, [npmCli(), 'ci', '--offline', '--no-audit', '--no-fund'], { cwd: dir, env });
  assert.equal(install.code, 0, `npm ci --offline of the tarball failed (ENOTCACHED: a dependency is not in npm's cache; run npm ci in the `
    + `repository first):\n${install.stderr}`);
  const consumer = await run(process.execPath, ['consumer.mjs'], { cwd: dir, env });
  assert.equal(consumer.code, 0, `the consumer failed:\n${consumer.stderr}\n${consumer.stdout}`);
  const line = consumer.stdout.trim().split('\n').pop() ?? '';
  return { seen: JSON.parse(line) as Seen, install, consumer, dir };
}

test('npm pack ships prebuilds/linux-x64: installed offline with no compiler on PATH, a queue works through a child Process and '
  + 'SharedArray runs on the prebuilt addon', { timeout: 180_000, skip: !linuxX64 && 'the prebuilt binary is linux-x64' }, async () => {
  const { seen, dir } = await installAndRun('with-prebuild', tarball);
  const installed = join(dir, 'node_modules', 'procsafe');
  assert.deepEqual(readdirSync(join(installed, 'prebuilds', 'linux-x64')), ['procsafe.glibc.node']);
  assert.equal(existsSync(join(installed, 'build')), false, 'nothing was compiled at install');
  assert.equal(seen.addon, join(installed, 'prebuilds', 'linux-x64', 'procsafe.glibc.node'));
  assert.deepEqual(seen.got, { back: 'ping' });
  assert.deepEqual(seen.exit, { exitCode: 0, signal: null });
  assert.deepEqual(seen.shared, { value: 42 }, 'a SharedArray, written in both processes');
  assert.deepEqual(seen.warnings, []);
});

test('the same package with no binary at all installs without an error: queues work, SharedArray says why, one warning',
  { timeout: 180_000, skip: !linuxX64 && 'the prebuilt binary is linux-x64' }, async () => {
  // The tarball again without prebuilds/: a platform no binary fits, on a machine that cannot compile.
  const unpacked = join(work, 'unpacked');
  mkdirSync(unpacked);
  const env = cleanEnv({});
  const untar = await run('tar', ['-xzf', tarball, '-C', unpacked], { cwd: work, env });
  assert.equal(untar.code, 0, untar.stderr);
  rmSync(join(unpacked, 'package', 'prebuilds'), { recursive: true });
  const bare = join(work, 'no-prebuild.tgz');
  const retar = await run('tar', ['-czf', bare, '-C', unpacked, 'package'], { cwd: work, env });
  assert.equal(retar.code, 0, retar.stderr);

  const { seen, install, consumer } = await installAndRun('without-binary', bare);
  assert.doesNotMatch(install.stderr, /npm error/);
  assert.match(seen.addon, /^none: No native build was found/);
  assert.deepEqual(seen.got, { back: 'ping' });
  assert.deepEqual(seen.exit, { exitCode: 0, signal: null });
  assert.equal(seen.shared.procsafe, true, 'a ProcsafeError');
  assert.match(seen.shared.error ?? '', /^SharedArray needs procsafe's native addon, which did not load: No native build was found/);
  assert.equal(seen.warnings.length, 1, 'one warning');
  assert.match(seen.warnings[0] ?? '', /^procsafe: the native addon is not in use: No native build was found .*\(reinstall procsafe/);
  const told = consumer.stderr.split('\n').filter((l) => l.includes('procsafe'));
  assert.equal(told.length, 1, `one line on stderr names procsafe:\n${consumer.stderr}`);
});
