#!/usr/bin/env node
// Runs every compiled *.test.js under dist-test/ with node's test runner, one file
// at a time (2 cores: children of one file must not fight another file's), with
// core dumps off because crash tests call process.abort().
//
// Two passes, because queues, pipes, locks and shared state have two transports and
// both must keep every guarantee: first every file with the native addon in use
// (PROCSAFE_NATIVE unset), then the queue, sync, pipe, shared and crash suites again
// with PROCSAFE_NATIVE=0 (the owner's socket, the fallback). PROCSAFE_TEST_PATHS=
// native|socket|both (default both) runs one pass or both; arguments are substrings
// of file paths, as before, and narrow both passes. The exit code is non-zero if
// either pass fails.
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = 'dist-test';
// The suites that travel through a transport, and every crash test (pools use queues
// and locks too): about two minutes more on 2 cores.
const socketFolders = /^(queue|sync|pipe|shared|crash)\//;
// SharedArray exists only over the addon's mappings: with PROCSAFE_NATIVE=0 it throws by
// contract (its own test checks that), so its files have no socket pass.
const nativeOnly = /(^|\/)shared-array[^/]*$/;

const paths = process.env['PROCSAFE_TEST_PATHS'] ?? 'both';
if (!['native', 'socket', 'both'].includes(paths)) {
  console.error(`run-tests: PROCSAFE_TEST_PATHS must be native, socket or both, not '${paths}'`);
  process.exit(2);
}
const only = process.argv.slice(2);
const all = readdirSync(root, { recursive: true })
  .map((f) => String(f).split('\\').join('/'))
  .filter((f) => f.endsWith('.test.js'))
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort();
const passes = [];
if (paths !== 'socket') passes.push({ name: 'native path', files: all, env: { PROCSAFE_NATIVE: undefined } });
if (paths !== 'native') {
  const files = all.filter((f) => socketFolders.test(f) && !nativeOnly.test(f));
  passes.push({ name: 'socket path (PROCSAFE_NATIVE=0)', files, env: { PROCSAFE_NATIVE: '0' } });
}
if (passes.every((p) => p.files.length === 0)) {
  // node --test with no file would run every file it finds, fixtures included.
  console.error(`run-tests: no compiled test file under ${root} matches ${only.join(', ') || '*.test.js'} (PROCSAFE_TEST_PATHS=${paths})`);
  process.exit(2);
}

// Each pass also writes TAP to a file, read back for the closing counts of both passes.
const tapDir = mkdtempSync(join(tmpdir(), 'procsafe-run-tests-'));
const summaries = [];
let failed = false;
try {
  for (const pass of passes) {
    if (pass.files.length === 0) continue;
    console.log(`\nrun-tests: ${pass.name}: ${pass.files.length} file(s)`);
    const tap = join(tapDir, `${summaries.length}.tap`);
    const shown = process.stdout.isTTY ? 'spec' : 'tap';
    const reporters = `--test-reporter=${shown} --test-reporter-destination=stdout`
      + ` --test-reporter=tap --test-reporter-destination='${tap}'`;
    const quoted = pass.files.map((f) => `'${join(root, f)}'`).join(' ');
    const cmd = `ulimit -c 0; exec "${process.execPath}" --test --test-concurrency=1 --test-timeout=120000 ${reporters} ${quoted}`;
    const started = performance.now();
    const env = { ...process.env, ...pass.env };
    // The native pass is the addon's even where the shell exported PROCSAFE_NATIVE=0: PROCSAFE_TEST_PATHS picks passes.
    for (const [key, value] of Object.entries(env)) if (value === undefined) delete env[key];
    const result = spawnSync('/bin/sh', ['-c', cmd], { stdio: 'inherit', env });
    const seconds = Math.round((performance.now() - started) / 1000);
    const counts = tapCounts(tap);
    const ok = result.status === 0;
    failed ||= !ok;
    summaries.push({ name: pass.name, files: pass.files.length, seconds, ok, counts, status: result.status ?? result.signal });
  }
} finally {
  rmSync(tapDir, { recursive: true, force: true });
}

console.log('\nrun-tests:');
for (const s of summaries) {
  const { passed, failed: lost, skipped } = s.counts;
  const exit = s.ok ? '' : ` (exit ${s.status})`;
  console.log(`  ${s.name}: ${passed} passed, ${lost} failed, ${skipped} skipped, ${s.files} file(s) in ${s.seconds} s${exit}`);
}
const total = { passed: 0, failed: 0, skipped: 0 };
for (const s of summaries) for (const key of Object.keys(total)) total[key] += s.counts[key];
// A pass that failed without a failed test (a runner crash, a signal) must still read as a failure.
if (failed && total.failed === 0) total.failed = 1;
console.log(`total: ${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped`);
process.exit(failed ? 1 : 0);

/** The top-level counts of a TAP report (its last '# pass N' etc.); cancelled tests count as failed. */
function tapCounts(file) {
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    // No report at all: the runner died before writing one; the exit status tells.
  }
  const last = (key) => {
    const all = [...text.matchAll(new RegExp(`^# ${key} (\\d+)$`, 'gm'))];
    return all.length === 0 ? 0 : Number(all[all.length - 1][1]);
  };
  return { passed: last('pass'), failed: last('fail') + last('cancelled'), skipped: last('skipped') + last('todo') };
}
