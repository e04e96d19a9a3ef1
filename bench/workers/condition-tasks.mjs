// Process targets for bench/condition.mjs: two processes hand a turn back and forth through one Condition (owned by the
// bench's main process) and one shared Int32 (a SharedArray): each hop is a notify() answered by the other process
// waking up in wait(), re-taking the lock and seeing its turn.
import { writeFileSync } from 'node:fs';

const now = () => process.hrtime.bigint();

/**
 * Plays `me` (0 or 1): waits for turn === me, hands the turn over and notifies, `total` times. Player 0 then waits for
 * the last hand-back and writes { t0, t1 } (ns) of the round trips after `warmup` to `out`.
 */
export async function player(cond, shared, { me, total, warmup, out }) {
  const turn = shared.array;
  const held = await cond.acquire();
  let t0 = 0n;
  for (let i = 0; i < total; i++) {
    while (Atomics.load(turn, 0) !== me) await cond.wait(held);
    if (me === 0 && i === warmup) t0 = now();
    Atomics.store(turn, 0, 1 - me);
    await cond.notify();
  }
  if (me === 0) {
    while (Atomics.load(turn, 0) !== 0) await cond.wait(held);
    const t1 = now();
    writeFileSync(out, JSON.stringify({ t0: t0.toString(), t1: t1.toString() }));
  }
  held.release();
}
