// Types of a worker module as Pool and Process see it (`new Pool<typeof import('./tasks.js')>`): export names and argument
// lists are checked, results typed.

/** A worker module seen as types: any object whose function-valued keys are the tasks. */
export type WorkerModuleShape = object;

/** What an untyped pool accepts: any export name, any arguments, an unknown result. */
export type UntypedModule = Record<string, (...args: readonly unknown[]) => unknown>;

/** The names of the module's exports that are functions. */
export type FnName<M> = { [K in keyof M]-?: M[K] extends (...args: never) => unknown ? K : never }[keyof M] & string;

/** The argument list of an export. */
export type Args<F> = F extends (...args: infer A) => unknown ? A : never;

/** What an export resolves to, promises unwrapped. */
export type Result<F> = F extends (...args: never) => infer R ? Awaited<R> : never;
