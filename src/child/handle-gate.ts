// Queue, Lock, Event and Barrier (shareables.ts) cost a child about a third of its start, and most children never
// receive one. So they load only once bytes from the parent hold a handle's key (always serialized with it, as latin1),
// holding those bytes and all that follow until the classes can revive it. A string that merely holds the key loads
// them for nothing, which is harmless.
import { kHandleKey } from '../codec/handles.js';

const kKey = Buffer.from(kHandleKey, 'latin1');
const kSeam = kKey.length - 1;
const kFirst = kKey[0] as number;

/** Feeds `deliver` in order; `load` is called at most once, and nothing is delivered while it runs. */
export function handleGate(deliver: (chunk: Buffer) => void, load: () => Promise<unknown>): (chunk: Buffer) => void {
  let loaded = false;
  let held: Buffer[] | undefined;
  // The end of the bytes so far when a key may begin there and end in the next chunk.
  let tail: Buffer | undefined;
  return (chunk) => {
    if (loaded) return deliver(chunk);
    if (held !== undefined) {
      held.push(chunk);
      return;
    }
    const found = chunk.indexOf(kKey) >= 0 || (tail !== undefined && Buffer.concat([tail, chunk.subarray(0, kSeam)]).indexOf(kKey) >= 0);
    tail = keyStartAtEnd(tail, chunk);
    if (!found) return deliver(chunk);
    const waiting: Buffer[] = [chunk];
    held = waiting;
    // A failed load rejects unhandled: the runtime reports it as the child's fatal error.
    void load().then(() => {
      loaded = true;
      held = undefined;
      for (const part of waiting) deliver(part);
    });
  };
}

/**
 * A copy of the last bytes seen if a key's first byte is among them, else undefined: on the message path (a chunk per
 * task) that is the usual answer, found without copying anything.
 */
function keyStartAtEnd(tail: Buffer | undefined, chunk: Buffer): Buffer | undefined {
  const seen = chunk.length >= kSeam || tail === undefined ? chunk : Buffer.concat([tail, chunk]);
  const from = Math.max(0, seen.length - kSeam);
  return seen.indexOf(kFirst, from) < 0 ? undefined : Buffer.from(seen.subarray(from));
}
