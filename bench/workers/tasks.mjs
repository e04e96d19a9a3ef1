// Worker module for procsafe (named exports), tinypool and piscina (`name` option).
// Peers pass one argument; procsafe passes the args array, so every function takes one value.
import { writeFileSync } from 'node:fs';

export function inc(x) { return x + 1; }

/** Echoes a Buffer back. Threads receive a Uint8Array after structured clone; a Buffer view costs nothing. */
export function echo(buf) { return buf; }

export function pid() { return process.pid; }

/** Writes this worker's pid to `path`, then never settles, so the bench can SIGKILL it mid-task. */
export function pidThenHang(path) {
  writeFileSync(path, String(process.pid));
  return new Promise(() => { setInterval(() => {}, 1000); });
}

export default inc;
