// The JoinableQueue chaos run, short (the long one is `npm run soak`).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { queueChaos } from '../helpers/queue-chaos.js';

test('chaos: 4 writers and 4 readers of a JoinableQueue(64), one SIGKILLed every 20-100 ms, 5000 items', { timeout: 120_000 }, async () => {
  const stats = await queueChaos(5000);
  assert.ok(stats.kills > 10, `only ${stats.kills} kills: the run was not chaotic`);
  console.log(`# chaos: ${JSON.stringify(stats)}`);
});

test('chaos with 40 KiB items (through /dev/shm files): 2500 items, every one whole, no file left by the dead',
  { timeout: 120_000 }, async () => {
  const stats = await queueChaos(2500, 11, 40 * 1024);
  assert.ok(stats.kills > 5, `only ${stats.kills} kills: the run was not chaotic`);
  console.log(`# chaos, large items: ${JSON.stringify(stats)}`);
});
