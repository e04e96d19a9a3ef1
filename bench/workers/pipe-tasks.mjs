// Process targets for bench/pipe.mjs: each receives a Pipe end owned by the bench's main process.
import { writeFileSync } from 'node:fs';

const now = () => process.hrtime.bigint();

/**
 * Sends i and waits for it back, `warmup` times, then `n` timed times; writes { t0, t1 } (ns) to `out`. The recv is
 * asked before the send is acknowledged (as the queue ping-pong does): both leave in one write.
 */
export async function pingA(end, { n, warmup, out }) {
  const round = async (i) => {
    const sent = end.send(i);
    const answer = await end.recv();
    await sent;
    if (answer !== i) throw new Error(`round trip ${i} came back as ${answer}`);
  };
  for (let i = 0; i < warmup; i++) await round(i);
  const t0 = now();
  for (let i = 0; i < n; i++) await round(i);
  const t1 = now();
  writeFileSync(out, JSON.stringify({ t0: t0.toString(), t1: t1.toString() }));
  end.close();
}

/** Sends back each of `total` messages; a send's acknowledgement and the next recv leave in one write. */
export async function pingB(end, { total }) {
  let sent = Promise.resolve();
  for (let i = 0; i < total; i++) {
    const message = await end.recv();
    await sent;
    sent = end.send(message);
  }
  await sent;
  end.close();
}
