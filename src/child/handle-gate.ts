// Queue, Lock, Event and Barrier (shareables.ts) cost a child about a third of its start, and most children never
// receive one. So they load only once bytes from the parent hold a handle's key (always serialized with it, as latin1),
// holding those bytes and all that follow until the classes can revive it. A string that merely holds the key loads
// them for nothing, which is harmless.
import { kHandleKey } from '../codec/handles.js';

const kKey = Buffer.from(kHandleKey, 'latin1');

/** Feeds `deliver` in order; `load` is called at most once, and nothing is delivered while it runs. */
export function handleGate(deliver: (chunk: Buffer) => void, load: () => Promise<unknown>): (chunk: Buffer) => void {
  let loaded = false;
  let held: Buffer[] | undefined;
  // The end of the previous chunk: a key may be split between two.
  let tail = Buffer.alloc(0);
  return (chunk) => {
    if (loaded) return deliver(chunk);
    if (held !== undefined) {
      held.push(chunk);
      return;
    }
    const seam = Buffer.concat([tail, chunk.subarray(0, kKey.length - 1)]);
    const recent = chunk.length >= kKey.length - 1 ? chunk : seam;
    tail = Buffer.from(recent.subarray(Math.max(0, recent.length - (kKey.length - 1))));
    if (seam.indexOf(kKey) < 0 && chunk.indexOf(kKey) < 0) return deliver(chunk);
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
