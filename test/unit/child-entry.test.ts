/**
 * Which file a child starts from: the build's bundle (scripts/bundle-child.mjs)
 * when it is at least as new as the compiled bootstrap.js, the plain file
 * otherwise, so that a compile without the bundle step never runs stale code.
 */
import assert from 'node:assert/strict';
import { utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { Pool, Process } from 'procsafe';
import { entryPath, kBootstrapPath } from '../../dist/child/spawn.js';
import { tempDir } from '../helpers/index.js';

const kT = { timeout: 15_000 };

test('the bundle is chosen only when it exists and is not older than bootstrap.js', (t) => {
  const dir = tempDir(t);
  const plain = join(dir, 'bootstrap.js');
  const bundle = join(dir, 'bootstrap.bundle.js');
  assert.equal(entryPath(plain), plain, 'neither exists (running from src/ under tsx)');
  writeFileSync(plain, '');
  assert.equal(entryPath(plain), plain, 'no bundle');
  writeFileSync(bundle, '');
  utimesSync(plain, 1000, 1000);
  utimesSync(bundle, 1000, 1000);
  assert.equal(entryPath(plain), bundle, 'as new (a package unpacked with one mtime for every file)');
  utimesSync(plain, 2000, 2000);
  assert.equal(entryPath(plain), plain, 'compiled again after the bundle was made: stale');
});

test('after `npm run build`, Process and pool children (process and thread) run the bundle', kT, async (t) => {
  assert.match(kBootstrapPath, /bootstrap\.bundle\.js$/);
  const dir = tempDir(t);
  const module = pathToFileURL(join(dir, 'entry.mjs'));
  // The runtime that calls a worker function is on its stack.
  writeFileSync(join(dir, 'entry.mjs'), [
    'export function stack() { return new Error().stack; }',
    "export function show() { console.log(new Error().stack.includes('bootstrap.bundle.js')); }",
  ].join('\n'));
  for (const isolation of ['process', 'thread'] as const) {
    const pool = new Pool({ module, workers: 1, isolation });
    t.after(() => pool.terminate());
    assert.match(String(await pool.apply('stack', [])), /bootstrap\.bundle\.js/, isolation);
    await pool.close();
  }
  const child = new Process({ module, fn: 'show', stdout: 'pipe' });
  t.after(() => { child.kill('SIGKILL'); });
  await child.start();
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => { output += chunk.toString(); });
  assert.equal((await child.join()).exitCode, 0);
  assert.equal(output.trim(), 'true');
});
