/** Option validators in the style of Node core's: the message names the option and the value. */

type Primitive = number | boolean | bigint | symbol | undefined | null;

/** The text of a value already known to be no object, function or string. */
export function primitiveText(value: Primitive): string {
  return String(value);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return `\`${JSON.stringify(value)}\` (string)`;
  if (typeof value === 'object') return `an object (${Object.prototype.toString.call(value).slice(8, -1)})`;
  if (typeof value === 'function') return 'a function';
  return `\`${primitiveText(value as Primitive)}\` (${typeof value})`;
}

export function validateInteger(
  value: unknown, name: string, min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER,
): asserts value is number {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new TypeError(`Expected \`${name}\` to be an integer, got ${describe(value)}`);
  }
  if (value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `between ${min} and ${max}`;
    throw new RangeError(`Expected \`${name}\` to be an integer ${range}, got ${value}`);
  }
}

export function validateOneOf<T extends string>(value: unknown, name: string, allowed: readonly T[]): asserts value is T {
  if (!allowed.includes(value as T)) {
    throw new TypeError(`Expected \`${name}\` to be one of ${allowed.map((a) => `'${a}'`).join(', ')}, got ${describe(value)}`);
  }
}

export function validateString(value: unknown, name: string): asserts value is string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new TypeError(`Expected \`${name}\` to be a non-empty string, got ${describe(value)}`);
  }
}

export function validateArray(value: unknown, name: string): asserts value is unknown[] {
  if (!Array.isArray(value)) throw new TypeError(`Expected \`${name}\` to be an array, got ${describe(value)}`);
}

export function validateStringArray(value: unknown, name: string): asserts value is string[] {
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
    throw new TypeError(`Expected \`${name}\` to be an array of strings, got ${describe(value)}`);
  }
}

export function validateAbortSignal(value: unknown, name: string): asserts value is AbortSignal | undefined {
  if (value !== undefined && !(value instanceof AbortSignal)) {
    throw new TypeError(`Expected \`${name}\` to be an AbortSignal, got ${describe(value)}`);
  }
}

export function validateObject(value: unknown, name: string): asserts value is object {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError(`Expected \`${name}\` to be an object, got ${describe(value)}`);
  }
}

/** Rejects option names that do not exist, which are almost always typos (`worker: 4`). */
export function validateKnownKeys(value: Record<string, unknown>, name: string, known: readonly string[]): void {
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) {
      throw new TypeError(`Unknown option \`${key}\` in ${name}; the options are: ${known.join(', ')}`);
    }
  }
}

/** For a constructor that takes at most `max` arguments: a stray one is almost always an option it does not have. */
export function validateArgumentCount(args: ArrayLike<unknown>, name: string, max: number, takes: string): void {
  let count = args.length;
  while (count > 0 && args[count - 1] === undefined) count--;
  if (count > max) throw new TypeError(`${name}() takes ${takes}, got ${describe(args[max])}`);
}
