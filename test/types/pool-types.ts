/**
 * Type-level tests of `Pool<typeof import(...)>`: compiled by tsconfig.test.json, never run (no `.test` in
 * the name). Every `@ts-expect-error` below must meet an error, or the build fails; pool-types.test.ts
 * proves separately that a wrong name really fails to compile.
 */
import { Pool, type Outcome } from 'procsafe';

type Tasks = typeof import('./typed-tasks.js');

/** Consumes values, so that noUnusedLocals is satisfied without changing their types. */
function use(...values: unknown[]): void {
  void values;
}

/** Never called: only type-checked. */
export async function typedPool(): Promise<void> {
  const pool = null as unknown as Pool<Tasks>;

  const n: number = await pool.apply('square', [3]);
  const s: string = await pool.apply('greet', ['a', 2]);
  const o: { label: string } = await pool.apply('tag', ['x']);
  const o2: { label: string } = await pool.apply('tag', ['x', { upper: true }], { timeoutMs: 100, signal: AbortSignal.timeout(1) });
  use(n, s, o, o2);

  // @ts-expect-error unknown export name
  void pool.apply('nope', []);
  // @ts-expect-error wrong argument type
  void pool.apply('square', ['x']);
  // @ts-expect-error not a function
  void pool.apply('notFn', []);
  // @ts-expect-error missing argument
  void pool.apply('greet', ['a']);
  // @ts-expect-error too many arguments
  void pool.apply('square', [1, 2]);
  // @ts-expect-error unknown apply option
  void pool.apply('square', [1], { timeout: 5 });
  // @ts-expect-error the result is a number, not any
  const wrong: string = await pool.apply('square', [3]);
  use(wrong);

  const r: number[] = await pool.map('square', [1, 2]);
  const settled: Outcome<number>[] = await pool.mapSettled('square', [1, 2]);
  for (const outcome of settled) {
    if (outcome.ok) use(outcome.value.toFixed());
    else use(outcome.error.message);
  }
  for await (const x of pool.imap('square', [1, 2])) {
    const y: number = x;
    use(y);
  }
  for await (const x of pool.imapUnordered('greet', ['a'])) {
    const y: string = x;
    use(y);
  }
  use(r);
  // @ts-expect-error items must be the first argument's type
  void pool.map('square', ['a']);
  // @ts-expect-error the results are numbers
  const wrongMap: string[] = await pool.map('square', [1]);
  use(wrongMap);
  // @ts-expect-error not a function
  void pool.map('notFn', [1]);

  const powers: string[] = await pool.starmap('greet', [['a', 1], ['b', 2]]);
  const squares: number[] = await pool.starmap('square', [[1], [2]], { chunksize: 1, concurrency: 2, signal: AbortSignal.timeout(1) });
  const tags: { label: string }[] = await pool.starmap('tag', [['x'], ['y', { upper: true }]]);
  use(powers, squares, tags);
  // @ts-expect-error a typo'd export name
  void pool.starmap('gret', [['a', 1]]);
  // @ts-expect-error each item is the argument list: a wrong type in one
  void pool.starmap('greet', [['a', 1], ['b', 'two']]);
  // @ts-expect-error each item is the argument list: a missing argument
  void pool.starmap('greet', [['a']]);
  // @ts-expect-error each item is an argument list, not a bare argument
  void pool.starmap('square', [1, 2]);
  // @ts-expect-error the results are strings
  const wrongStar: number[] = await pool.starmap('greet', [['a', 1]]);
  use(wrongStar);
}

/** Never called: an untyped pool accepts any name and any arguments, and its results are unknown. */
export async function untypedPool(module: URL): Promise<void> {
  const pool = new Pool({ module, workers: 1 });
  try {
    const u: unknown = await pool.apply('anything', [1, 'two', { three: 3 }]);
    const none: unknown = await pool.apply('noArgs');
    const list: unknown[] = await pool.map('whatever', [1, 2]);
    const starred: unknown[] = await pool.starmap('whatever', [[1, 'two'], []]);
    use(u, none, list, starred);
    // @ts-expect-error an untyped result is unknown, not any
    const num: number = await pool.apply('anything', []);
    use(num);
  } finally {
    await pool.close();
  }
  // @ts-expect-error unknown option: a typo of workers
  use(new Pool({ module, worker: 2 }));
  // @ts-expect-error isolation is 'process' | 'thread'
  use(new Pool({ module, isolation: 'fork' }));
}

/** Never called: `await using` closes the pool. */
export async function disposable(module: URL): Promise<number> {
  await using pool = new Pool<Tasks>({ module });
  return pool.apply('square', [2]);
}
