/**
 * The one reading of `timeoutMs` (SPEC, "Timeouts and signals"): absent or `Infinity` is no limit (undefined), `0` or less
 * "do not wait" (as Python treats a negative timeout), `NaN` or a non-number a TypeError; else whole milliseconds. Beyond
 * what a timer holds (2^31 - 1 ms, about 24.8 days) is no limit too: Node would fire such a timer at once (TimeoutOverflowWarning).
 */
import { primitiveText } from './validate.js';

export function resolveTimeout(value: unknown, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || Number.isNaN(value)) {
    const shown = typeof value === 'string' ? JSON.stringify(value)
      : typeof value === 'object' && value !== null ? 'an object'
        : typeof value === 'function' ? 'a function' : primitiveText(value as number | boolean | bigint | symbol);
    throw new TypeError(`Expected \`${name}\` to be a number of milliseconds (or Infinity for no limit), got ${shown} (${typeof value})`);
  }
  if (value <= 0) return 0;
  if (value > kMaxTimerMs) return undefined;
  return Math.ceil(value);
}

const kMaxTimerMs = 2 ** 31 - 1;
