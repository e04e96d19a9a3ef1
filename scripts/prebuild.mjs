#!/usr/bin/env node
// npm pack / npm publish (prepack): builds the native addon into prebuilds/<platform>-<arch>/
// with prebuildify (Node-API, stripped, tagged glibc so that musl systems build their own),
// so that the package installs without a compiler where that binary fits; node-gyp-build
// loads it when no build/ exists. It is built against the headers of the Node running this
// script (its include/node, or npm's nodedir), never downloaded: node-gyp would otherwise
// fetch the headers of the version prebuildify names. Node-API keeps the binary good for
// every later Node.
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';

const require = createRequire(import.meta.url);
const root = fileURLToPath(new URL('..', import.meta.url));

const given = process.env['npm_config_nodedir'];
const beside = dirname(dirname(process.execPath));
const nodedir = given !== undefined && given !== '' ? given : beside;
if (!existsSync(join(nodedir, 'include', 'node', 'node_api.h'))) {
  console.error(`prebuild: no Node headers at ${join(nodedir, 'include', 'node')}: install them (the nodejs package's headers, ` +
    'or a Node build that ships include/), or point npm_config_nodedir at a Node source or install tree');
  process.exit(1);
}

// npm hands its scripts the node-gyp it bundles; outside npm there may be none.
const nodeGyp = process.env['npm_config_node_gyp'];
if (nodeGyp === undefined || nodeGyp === '') {
  console.error('prebuild: no node-gyp: run this through npm (npm pack), which provides its own, or set npm_config_node_gyp ' +
    'to a node-gyp\'s bin/node-gyp.js');
  process.exit(1);
}

// A binary left from another platform, or from before a change to native/, must not ship.
rmSync(join(root, 'prebuilds'), { recursive: true, force: true });
// node-gyp rebuild wipes build/ and prebuildify moves the binary out of it: work on a copy,
// so a developer's own build (which node-gyp-build prefers to prebuilds/) stays as it was.
const stage = mkdtempSync(join(tmpdir(), 'procsafe-prebuild-'));
let result;
try {
  for (const entry of ['package.json', 'binding.gyp', 'native']) cpSync(join(root, entry), join(stage, entry), { recursive: true });
  const bin = join(dirname(require.resolve('prebuildify/package.json')), 'bin.js');
  const args = [bin, '--napi', '--strip', '--tag-libc', '--target', `node@${process.versions.node}`,
    '--out', root, '--cache', join(stage, 'headers')];
  const env = { ...process.env, npm_config_nodedir: nodedir };
  env['PREBUILD_NODE_GYP'] ??= nodeGyp;
  result = spawnSync(process.execPath, args, { cwd: stage, stdio: 'inherit', env });
} finally {
  rmSync(stage, { recursive: true, force: true });
}
if (result.status !== 0) {
  console.error(`prebuild: prebuildify failed (exit ${result.status ?? result.signal}): npm pack stops here rather than ship no binary`);
  process.exit(1);
}
console.log(`prebuild: prebuilds/${process.platform}-${process.arch}/ built against the headers in ${nodedir}`);
if (process.platform !== 'linux' || process.arch !== 'x64') {
  console.warn(`prebuild: this tarball carries a ${process.platform}-${process.arch} binary and no linux-x64 one: publish from linux-x64`);
}
