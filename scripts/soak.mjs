#!/usr/bin/env node
// npm run soak: the crash storm (500 tasks, a fifth of them killing their worker,
// retries: 10) repeated SOAK_ROUNDS times (default 20) for each isolation. A round
// that does not finish within SOAK_ROUND_MS is reported as a hang and the soak
// fails. Then the JoinableQueue chaos run with SOAK_QUEUE_ITEMS items (default
// 20000), SOAK_QUEUE_ROUNDS times (default 3). Not part of npm test.
import { crashStorm } from '../dist-test/helpers/crash-storm.js';
import { queueChaos } from '../dist-test/helpers/queue-chaos.js';

const rounds = Number(process.env.SOAK_ROUNDS ?? 20);
const limitMs = Number(process.env.SOAK_ROUND_MS ?? 120_000);
let hangs = 0;
let failures = 0;
for (const isolation of ['process', 'thread']) {
  for (let round = 1; round <= rounds; round++) {
    const started = performance.now();
    let timer;
    const deadline = new Promise((resolve) => { timer = setTimeout(() => resolve('hang'), limitMs); });
    const outcome = await Promise.race([crashStorm(isolation).then((stats) => stats, (error) => error), deadline]);
    clearTimeout(timer);
    const ms = Math.round(performance.now() - started);
    if (outcome === 'hang') {
      hangs++;
      console.log(`${isolation} round ${round}: HANG (no result after ${limitMs} ms)`);
    } else if (outcome instanceof Error) {
      failures++;
      console.log(`${isolation} round ${round}: FAILED in ${ms} ms: ${outcome.message}`);
    } else {
      console.log(`${isolation} round ${round}: ok in ${ms} ms, ${outcome.crashed} worker crashes, ${outcome.retried} retries`);
    }
  }
}
const queueRounds = Number(process.env.SOAK_QUEUE_ROUNDS ?? 3);
const queueItems = Number(process.env.SOAK_QUEUE_ITEMS ?? 20_000);
for (let round = 1; round <= queueRounds; round++) {
  let timer;
  const deadline = new Promise((resolve) => { timer = setTimeout(() => resolve('hang'), Math.max(limitMs, queueItems * 30)); });
  const outcome = await Promise.race([queueChaos(queueItems, round).then((stats) => stats, (error) => error), deadline]);
  clearTimeout(timer);
  if (outcome === 'hang') {
    hangs++;
    console.log(`queue chaos round ${round}: HANG`);
  } else if (outcome instanceof Error) {
    failures++;
    console.log(`queue chaos round ${round}: FAILED: ${outcome.message}`);
  } else {
    console.log(`queue chaos round ${round}: ok in ${outcome.ms} ms, ${outcome.items} items, ${outcome.kills} kills, ${outcome.duplicates} duplicates (each explained by a death)`);
  }
}
console.log(`soak: ${rounds * 2} pool rounds and ${queueRounds} queue chaos rounds, ${hangs} hangs, ${failures} failures`);
process.exit(hangs + failures === 0 ? 0 : 1);
