#!/usr/bin/env node
// Bundles the child's entry (dist/child/bootstrap.js and what it imports) into
// dist/child/bootstrap.bundle.js, which every Process and pool worker then
// starts (child/spawn.ts): resolving, reading and compiling some twenty files
// was about half of what a child costs beyond a bare `node`. The bundle sits
// beside bootstrap.js, so its import.meta.url paths (watchdog.js, the lazy
// shareables.js) still resolve. Modules whose state or classes a worker module
// that imports procsafe shares with the runtime stay separate files, loaded
// from dist/ as before, so that there is one copy of them per thread.
import { build } from 'esbuild';
import { dirname, relative, resolve } from 'node:path';

const kEntry = resolve('dist/child/bootstrap.js');
const kOut = resolve('dist/child/bootstrap.bundle.js');
const kShared = [
  'dist/child/shareables.js', // registers Queue, Lock … in codec/handles.js, loaded on a handle's arrival
  'dist/codec/handles.js', // the revivers of handles
  'dist/codec/v8.js', // counts the errors it met, for its serializer
  'dist/errors.js', // the classes a user may test with instanceof
  'dist/internal/identity.js', // this process's name, as currentProcess() reads it
].map((file) => resolve(file));

/** Imports of a shared module stay imports, rewritten relative to the bundle. */
const keepShared = {
  name: 'keep-shared',
  setup(build) {
    build.onResolve({ filter: /^\.\.?\// }, (args) => {
      const path = resolve(args.resolveDir, args.path);
      if (!kShared.includes(path)) return undefined;
      const fromBundle = relative(dirname(kOut), path);
      return { path: fromBundle.startsWith('.') ? fromBundle : `./${fromBundle}`, external: true };
    });
  },
};

await build({
  entryPoints: [kEntry],
  outfile: kOut,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // Chained through tsc's maps to src/, read when the child runs with --enable-source-maps.
  sourcemap: 'linked',
  plugins: [keepShared],
  logLevel: 'warning',
});
