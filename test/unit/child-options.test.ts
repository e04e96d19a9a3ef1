/**
 * What Pool and Process check of their child before spawning anything: the
 * module file exists (naming the caller's path), and every env value is a string.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Pool, Process } from 'procsafe';
import { childPids, fixture, tasks, tempDir } from '../helpers/index.js';

const kT = { timeout: 10_000 };

const makers = {
  Pool: (options: Record<string, unknown>) => new Pool({ workers: 1, ...options } as unknown as ConstructorParameters<typeof Pool>[0]),
  Process: (options: Record<string, unknown>) =>
    new Process({ fn: 'noop', ...options } as unknown as ConstructorParameters<typeof Process>[0]),
};

for (const [kind, make] of Object.entries(makers)) {
  describe(`${kind}: the module is checked at construction`, () => {
    test('a missing file URL throws TypeError naming the path and what to do; nothing is spawned', kT, () => {
      const before = childPids(process.pid);
      const missing = fixture('no-such-tasks.mjs');
      assert.throws(() => make({ module: missing }), (error: unknown) => {
        assert.ok(error instanceof TypeError, String(error));
        assert.match(error.message, /`module`/);
        assert.ok(error.message.includes(missing.pathname), error.message);
        assert.match(error.message, /no such file/);
        assert.match(error.message, /new URL\('\.\/tasks\.js', import\.meta\.url\)/);
        return true;
      });
      assert.throws(() => make({ module: missing.pathname }), /no such file/, 'an absolute path too');
      assert.deepEqual(childPids(process.pid), before, 'nothing was spawned');
    });

    test('a .js URL beside a .ts file is accepted (tsx maps ./tasks.js to tasks.ts)', kT, async (t) => {
      const dir = tempDir(t);
      for (const [source, asked] of [['a.ts', 'a.js'], ['b.mts', 'b.mjs'], ['c.cts', 'c.cjs']] as const) {
        writeFileSync(join(dir, source), 'export function noop(): void {}\n');
        const made = make({ module: pathToFileURL(join(dir, asked)), stderr: 'ignore' });
        if (made instanceof Pool) await made.terminate();
      }
      assert.throws(() => make({ module: pathToFileURL(join(dir, 'd.js')) }), /no such file/, 'no sibling, no pass');
    });

    test('an existing module and a data: URL pass', kT, async () => {
      const made = [
        make({ module: tasks, stderr: 'ignore' }), make({ module: 'data:text/javascript,export function noop() {}', stderr: 'ignore' }),
      ];
      for (const m of made) if (m instanceof Pool) await m.terminate();
    });
  });

  describe(`${kind}: env values must be strings`, () => {
    test('env: { A: 5 } throws TypeError naming the key', kT, () => {
      assert.throws(() => make({ module: tasks, env: { PATH: '/bin', A: 5 } }), (error: unknown) => {
        assert.ok(error instanceof TypeError, String(error));
        assert.match(error.message, /`env\.A`/);
        assert.match(error.message, /string/);
        return true;
      });
      assert.throws(() => make({ module: tasks, env: { B: undefined } }), /`env\.B`/);
    });
  });
}
