// Pool tasks for bench/shared-array.mjs: the same loop over a SharedArray's memory or over an array sent as an argument.

function sum(a, lo, hi) {
  let s = 0;
  for (let i = lo; i < hi; i++) s += a[i];
  return s;
}

/** Sums elements lo..hi-1 of a SharedArray (its memory, mapped in this process); with this worker's pid. */
export function sumShared(shared, lo, hi) {
  return { sum: sum(shared.array, lo, hi), pid: process.pid };
}

/** Sums elements lo..hi-1 of a Float64Array that arrived as an argument (copied whole into this process). */
export function sumArgument(array, lo, hi) {
  return { sum: sum(array, lo, hi), pid: process.pid };
}

export function pid() { return process.pid; }
