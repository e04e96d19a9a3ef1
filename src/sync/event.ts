/** Event: a flag shared between processes, as Python's multiprocessing.Event. */
import { inspect as utilInspect } from 'node:util';
import type { Handle } from '../codec/handles.js';
import { linkFor, validateWait, type WaitOptions } from '../broker/link.js';
import { adopt, claimHandle, describeHandle, shareable } from '../broker/shareable.js';
import { ProtocolViolation } from '../transport/frame.js';
import { kAnswer, kRequest } from '../broker/protocol.js';
import { validateArgumentCount } from '../internal/validate.js';
import type { EventSnapshot } from './event-state.js';

export class Event {
  readonly #handle: Handle;

  constructor(...args: []) {
    validateArgumentCount(args, 'Event', 0, 'no arguments');
    this.#handle = claimHandle('event', 0, 1024);
    adopt(this, this.#handle);
  }

  /** Wakes every waiter, in every process; resolves once the owner applied it. Awaiting is optional (a lost owner shows later). */
  set(): Promise<void> { return this.#command(kRequest.Set); }

  /** Clears the flag; later waits block until the next `set()`. */
  clear(): Promise<void> { return this.#command(kRequest.Clear); }

  async isSet(): Promise<boolean> {
    return linkFor(this.#handle).askValue<boolean>(this.#handle, kRequest.Stats);
  }

  /** Resolves true once the flag is set, or false if `timeoutMs` passes first (as Python's wait). */
  async wait(options?: WaitOptions): Promise<boolean> {
    const wait = validateWait(options, 'wait()');
    if (wait.timeoutMs === 0) return this.isSet();
    const timedOut = new Error('timed out');
    try {
      // A late answer holds nothing: it is dropped.
      await linkFor(this.#handle).ask(this.#handle, kRequest.Wait, wait, () => timedOut, () => {});
      return true;
    } catch (error) {
      if (error === timedOut) return false;
      throw error;
    }
  }

  /** The flag and who waits for it. */
  async inspect(): Promise<EventSnapshot> {
    return linkFor(this.#handle).askValue<EventSnapshot>(this.#handle, kRequest.Inspect);
  }

  [utilInspect.custom](): string {
    return `Event { ${describeHandle(this.#handle)} }`;
  }

  #command(type: typeof kRequest.Set | typeof kRequest.Clear): Promise<void> {
    const done = linkFor(this.#handle).ask(this.#handle, type).then((answer) => {
      if (answer.type !== kAnswer.Done) {
        throw new ProtocolViolation(`the owner answered an event command with frame type ${answer.type}, not done`);
      }
    });
    // Not awaiting is fine: the rejection is marked handled here and still reaches whoever awaits.
    done.catch(() => {});
    return done;
  }
}

shareable(Event, ['event'], () => new Event());
