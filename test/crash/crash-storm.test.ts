// A crash storm: 500 tasks, a fifth of them killing their worker at random, retries: 10.
// Every result arrives, in order for map, and close() returns. `npm run soak` repeats it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { crashStorm } from '../helpers/crash-storm.js';

for (const isolation of ['process', 'thread'] as const) {
  test(`crash storm (${isolation}): 500 tasks, 20% kill their worker, retries 10: every result, in order, and close() returns`,
    { timeout: 120_000 }, async () => {
    const { crashed, retried } = await crashStorm(isolation);
    assert.ok(crashed >= 50, `only ${crashed} crashes: the storm did not happen`);
    assert.ok(retried >= crashed - 1);
  });
}
