// `npm run bench` runs this first: installs bench/'s own dependencies (the peer pools, kept out of
// the library's package.json) from bench/package-lock.json when any of them is missing.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('.', import.meta.url));
const { dependencies } = JSON.parse(readFileSync(new URL('package.json', import.meta.url), 'utf8'));
const missing = Object.keys(dependencies).filter((name) => !existsSync(new URL(`node_modules/${name}/package.json`, import.meta.url)));
if (missing.length > 0) {
  console.error(`[bench] installing ${missing.join(', ')} into bench/node_modules`);
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const result = spawnSync(npm, ['--prefix', dir, 'ci', '--no-audit', '--no-fund'], { stdio: 'inherit' });
  if (result.status !== 0) process.exit(result.status ?? 1);
}
