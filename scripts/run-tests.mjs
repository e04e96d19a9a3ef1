#!/usr/bin/env node
// Runs every compiled *.test.js under dist-test/ with node's test runner, one file
// at a time (2 cores: children of one file must not fight another file's), with
// core dumps off because crash tests call process.abort().
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = 'dist-test';
const only = process.argv.slice(2);
const files = readdirSync(root, { recursive: true })
  .map(String)
  .filter((f) => f.endsWith('.test.js'))
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort()
  .map((f) => join(root, f));
if (files.length === 0) {
  // node --test with no file would run every file it finds, fixtures included.
  console.error(`run-tests: no compiled test file under ${root} matches ${only.join(', ') || '*.test.js'}`);
  process.exit(2);
}
const cmd = `ulimit -c 0; exec "${process.execPath}" --test --test-concurrency=1 --test-timeout=120000 ${files.map((f) => `'${f}'`).join(' ')}`;
const result = spawnSync('/bin/sh', ['-c', cmd], { stdio: 'inherit' });
process.exit(result.status ?? 1);
