/**
 * Type-level tests of `new Process<typeof import(...)>`: compiled by tsconfig.test.json, never run (no `.test` in the
 * name). Every `@ts-expect-error` below must meet an error, or the build fails: a typo'd `fn` or wrong `args` that
 * compiled would fail it.
 */
import { Process, type UntypedModule } from 'procsafe';

type Tasks = typeof import('./typed-tasks.js');

/** Never called: only type-checked. */
export function typedProcess(module: URL): Process<Tasks>[] {
  const made = [
    new Process<Tasks>({ module, fn: 'square', args: [42] }),
    new Process<Tasks>({ module, fn: 'greet', args: ['a', 2], name: 'greeter', daemon: true }),
    new Process<Tasks>({ module, fn: 'tag', args: ['x'] }),
    new Process<Tasks>({ module, fn: 'tag', args: ['x', { upper: true }] }),
    // A function of no parameters needs no args.
    new Process<Tasks>({ module, fn: 'ping' }),
    new Process<Tasks>({ module, fn: 'ping', args: [] }),
  ];
  // @ts-expect-error a typo'd export name
  made.push(new Process<Tasks>({ module, fn: 'sqaure', args: [42] }));
  // @ts-expect-error wrong argument type
  made.push(new Process<Tasks>({ module, fn: 'square', args: ['42'] }));
  // @ts-expect-error too many arguments
  made.push(new Process<Tasks>({ module, fn: 'square', args: [1, 2] }));
  // @ts-expect-error a missing argument
  made.push(new Process<Tasks>({ module, fn: 'greet', args: ['a'] }));
  // @ts-expect-error args left out, but square needs one
  made.push(new Process<Tasks>({ module, fn: 'square' }));
  // @ts-expect-error not a function
  made.push(new Process<Tasks>({ module, fn: 'notFn' }));
  // @ts-expect-error unknown option: a typo of daemon
  made.push(new Process<Tasks>({ module, fn: 'ping', deamon: true }));
  return made;
}

/** True only when A and B are the same type (assignability either way is not enough). */
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false;
type ModuleOf<P> = P extends Process<infer M> ? M : never;

/** Never called: an untyped Process accepts any name and any arguments, or none. */
export function untypedProcess(module: URL): Process[] {
  const untyped = new Process({ module, fn: 'anything', args: [1, 'two', { three: 3 }] });
  // Not inferred from the options as a module of one `any` export.
  const notInferred: Equal<ModuleOf<typeof untyped>, UntypedModule> = true;
  void notInferred;
  const made = [
    untyped,
    new Process({ module, fn: 'noArgs' }),
    new Process({ module, fn: 'readonlyArgs', args: Object.freeze([1, 2]) }),
  ];
  // @ts-expect-error fn is required
  made.push(new Process({ module }));
  // @ts-expect-error args is an array
  made.push(new Process({ module, fn: 'x', args: 3 }));
  return made;
}
