#!/usr/bin/env node
// Runs `node ARGS…` with core dumps disabled, so that the segfault and heap-limit
// scenarios (process.abort(), V8 out-of-memory) leave no core files behind.
import { spawnSync } from 'node:child_process';

const args = process.argv.slice(2).map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ');
const result = spawnSync('/bin/sh', ['-c', `ulimit -c 0; exec "${process.execPath}" ${args}`], { stdio: 'inherit' });
process.exit(result.status ?? 1);
