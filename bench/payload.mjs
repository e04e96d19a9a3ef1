// Scenario 4: large Buffer arguments and results (the worker echoes its argument), MB/s counting
// bytes in both directions, against a plain child_process pipe echo measured in the same run.
// Parameters: BENCH_PAYLOAD_MIB (comma list, default 1,32), BENCH_PAYLOAD_BYTES (total bytes
// each way per size, default 256 MiB; quick 64 MiB), at least 3 round trips per size.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { envInt, envInts, log, poolNamed, ratio, round, withPool, withTimeout } from './lib/common.mjs';

export const title = 'Payload: large Buffer argument and result';

const kEchoChild = fileURLToPath(new URL('./workers/echo-stdio.mjs', import.meta.url));
const kMiB = 1024 * 1024;

function repsFor(size, totalBytes) {
  return Math.max(3, Math.floor(totalBytes / size));
}

function makeBuffer(size) {
  const buf = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i += 4096) buf[i] = i & 0xff;
  buf[size - 1] = 0x5a;
  return buf;
}

function check(result, size) {
  if (!(result instanceof Uint8Array) || result.byteLength !== size || result[size - 1] !== 0x5a) {
    throw new Error(`echo returned ${result?.constructor?.name} of ${result?.byteLength ?? result?.length} bytes; expected ${size}`);
  }
}

/** One echo at a time; returns MB/s (10^6 bytes, both directions). */
async function poolEcho(pool, size, reps) {
  const buf = makeBuffer(size);
  check(await pool.run('echo', buf), size);
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) check(await pool.run('echo', buf), size);
  const seconds = (performance.now() - t0) / 1000;
  return (2 * size * reps) / seconds / 1e6;
}

/** The ceiling: write `size` bytes to a child's stdin, wait until all `size` come back on its stdout. */
export async function pipeEcho(size, reps) {
  const child = spawn(process.execPath, [kEchoChild], { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = once(child, 'exit');
  let received = 0;
  let want = 0;
  let wake;
  child.stdout.on('data', (chunk) => {
    received += chunk.length;
    if (received >= want && wake) {
      const w = wake;
      wake = undefined;
      w();
    }
  });
  const echo = (buf) => new Promise((resolve) => {
    received = 0;
    want = buf.length;
    wake = resolve;
    child.stdin.write(buf);
  });
  try {
    const buf = makeBuffer(size);
    const loop = async () => {
      await echo(buf);
      const t0 = performance.now();
      for (let i = 0; i < reps; i++) await echo(buf);
      return (2 * size * reps) / ((performance.now() - t0) / 1000) / 1e6;
    };
    return await withTimeout(loop(), 120_000, `pipe echo of ${size} bytes`);
  } finally {
    child.stdin.end();
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  }
}

export async function payload() {
  const sizes = envInts('BENCH_PAYLOAD_MIB', [1, 32], [1, 32]).map((m) => m * kMiB);
  const total = envInt('BENCH_PAYLOAD_BYTES', 256 * kMiB, 64 * kMiB);
  const rows = [];
  const notes = [
    'The worker returns its Buffer argument; one call at a time; MB/s = 10^6 bytes, both directions counted ' +
    `(argument + result); ${Math.round(total / kMiB)} MiB each way per size (at least 3 calls), after one warm-up call.`,
    'Ceiling: a bare node child that pipes its stdin to its stdout; the parent writes N bytes and waits for N to come back.',
    'tinypool child_process runs with `serialization: \'advanced\'` here (its default, JSON, cannot carry a Buffer); ' +
    'workerpool is left out (its process workers send JSON, so a Buffer does not round-trip as a Buffer).',
  ];

  for (const size of sizes) {
    const reps = repsFor(size, total);
    try {
      const mbps = await pipeEcho(size, reps);
      rows.push({ pool: 'ceiling: child_process pipe echo', size: `${size / kMiB} MiB`, calls: reps, mbPerSec: Math.round(mbps) });
      log(`payload ceiling ${size / kMiB} MiB: ${Math.round(mbps)} MB/s`);
    } catch (error) {
      rows.push({ pool: 'ceiling: child_process pipe echo', size: `${size / kMiB} MiB`, calls: reps, mbPerSec: null, error: error.message });
    }
  }

  const kinds = [['procsafe process'], ['procsafe thread'], ['tinypool child_process', { serialization: 'advanced' }], ['tinypool threads'], ['piscina']];
  for (const [name, options] of kinds) {
    const kind = poolNamed(name);
    try {
      await withPool(kind, async (pool) => {
        for (const size of sizes) {
          const reps = repsFor(size, total);
          const mbps = await withTimeout(poolEcho(pool, size, reps), 180_000, `${name} echo of ${size} bytes`);
          rows.push({ pool: name, size: `${size / kMiB} MiB`, calls: reps, mbPerSec: Math.round(mbps) });
          log(`payload ${name} ${size / kMiB} MiB: ${Math.round(mbps)} MB/s`);
        }
      }, options);
    } catch (error) {
      log(`payload ${name} failed: ${error.message}`);
      rows.push({ pool: name, size: null, calls: null, mbPerSec: null, error: error.message });
    }
  }

  const mb = (pool, size) => rows.find((r) => r.pool.startsWith(pool) && r.size === `${size / kMiB} MiB`)?.mbPerSec ?? 0;
  const ratios = [];
  for (const size of sizes) {
    const s = `${size / kMiB} MiB`;
    ratios.push(ratio(`${s}: procsafe process / pipe ceiling`, mb('procsafe process', size), mb('ceiling', size)));
    ratios.push(ratio(`${s}: procsafe process / tinypool child_process (advanced)`, mb('procsafe process', size), mb('tinypool child_process', size)));
    ratios.push(ratio(`${s}: procsafe thread / piscina`, mb('procsafe thread', size), mb('piscina', size)));
    ratios.push(ratio(`${s}: procsafe thread / tinypool threads`, mb('procsafe thread', size), mb('tinypool threads', size)));
  }
  return { title, rows, ratios, notes };
}

export default payload;

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(JSON.stringify(await payload(), null, 2));
}
