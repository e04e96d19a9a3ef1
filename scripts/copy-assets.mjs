#!/usr/bin/env node
// The build's non-TypeScript outputs: the demo's Python reproductions, copied beside the compiled demo so that
// `procsafe demo` finds them in dist/, and the Redis backend's Lua scripts (src/redis/scripts/*.lua), which
// redis/scripts.ts reads from beside itself.
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';

mkdirSync('dist/cli/demo/python', { recursive: true });
copyFileSync('src/cli/demo/python/seeds.py', 'dist/cli/demo/python/seeds.py');

mkdirSync('dist/redis/scripts', { recursive: true });
for (const file of readdirSync('src/redis/scripts')) {
  if (file.endsWith('.lua')) copyFileSync(`src/redis/scripts/${file}`, `dist/redis/scripts/${file}`);
}
