#!/usr/bin/env node
// The build's one non-TypeScript output: the demo's Python reproductions, copied
// beside the compiled demo so that `procsafe demo` finds them in dist/.
import { copyFileSync, mkdirSync } from 'node:fs';

mkdirSync('dist/cli/demo/python', { recursive: true });
copyFileSync('src/cli/demo/python/seeds.py', 'dist/cli/demo/python/seeds.py');
