// Child side of bench/shared-map.mjs: a get and a set of one key per iteration on a map owned by the bench's main process.

/** µs per operation (a get or a set), after `warmup` iterations. */
export async function mapLoop(m, n, warmup) {
  for (let i = 0; i < warmup; i++) await m.set('k', (await m.get('k')) + 1);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await m.set('k', (await m.get('k')) + 1);
  return Number(process.hrtime.bigint() - t0) / 1e3 / (2 * n);
}
