import { inspect as utilInspect } from 'node:util';
import type { Handle } from '../codec/handles.js';
import { BarrierBroken } from '../errors.js';
import { linkFor, type RequestOptions, validateWait, type WaitOptions } from '../broker/link.js';
import { adopt, claimHandle, describeHandle, shareable } from '../broker/shareable.js';
import { kAnswer, kRequest, type BarrierRequest } from '../broker/protocol.js';
import { resolveTimeout } from '../internal/timeout.js';
import { validateInteger, validateKnownKeys, validateObject } from '../internal/validate.js';
import type { BarrierSnapshot } from './barrier-state.js';

export interface BarrierOptions {
  /** The default `timeoutMs` of each `wait()` (as Python's `timeout`); a wait's own wins. Not carried to other processes. */
  readonly timeoutMs?: number | undefined;
}

/** `parties` processes wait until all have arrived, as Python's; one that dies waiting breaks it (BarrierBroken), never wedges it. */
export class Barrier {
  readonly #handle: Handle;
  readonly #timeoutMs: number | undefined;

  constructor(parties: number, options: BarrierOptions = {}) {
    validateInteger(parties, 'parties', 1, 2 ** 32 - 1);
    validateObject(options, 'Barrier options');
    validateKnownKeys(options as Record<string, unknown>, 'Barrier options', ['timeoutMs']);
    this.#timeoutMs = resolveTimeout(options.timeoutMs, 'timeoutMs');
    this.#handle = claimHandle('barrier', parties, 1024);
    adopt(this, this.#handle);
  }

  get parties(): number { return this.#handle.size; }

  /**
   * Resolves with this party's arrival index (0 first, parties - 1 last). Rejects BarrierBroken if a party died, timed out or
   * aborted, or on abort(). A timeout breaks it for everyone, as in Python; `timeoutMs` 0 passes only the party that fills it.
   */
  async wait(options?: WaitOptions): Promise<number> {
    const given = validateWait(options, 'wait()');
    const timeoutMs = options?.timeoutMs === undefined ? this.#timeoutMs : given.timeoutMs;
    const answer = await this.#request(kRequest.Wait, { ...given, timeoutMs, cancelAtOnce: true },
      () => new BarrierBroken(timeoutMs === 0
        ? 'the barrier was not full when this party arrived with timeoutMs 0 (do not wait); ' +
          'it is now broken for every party (reset() to reuse it)'
        : `the barrier did not fill within ${timeoutMs} ms; it is now broken for every party (reset() to reuse it)`));
    if (answer.type === kAnswer.Passed) return answer.payload.readUInt32BE(0);
    throw new BarrierBroken('the barrier is broken: a party died, timed out or aborted, or abort() was called; reset() to reuse it');
  }

  /** Breaks the barrier: current and future waiters reject BarrierBroken until `reset()`. */
  async abort(): Promise<void> { await this.#request(kRequest.Abort); }

  /** Back to empty and unbroken; parties waiting now reject BarrierBroken. */
  async reset(): Promise<void> { await this.#request(kRequest.Reset); }

  async broken(): Promise<boolean> {
    return (await linkFor(this.#handle).askValue<{ broken: boolean }>(this.#handle, kRequest.Stats)).broken;
  }

  /** How many parties are waiting now. */
  async nWaiting(): Promise<number> {
    return (await linkFor(this.#handle).askValue<{ waiting: number }>(this.#handle, kRequest.Stats)).waiting;
  }

  async inspect(): Promise<BarrierSnapshot> {
    return linkFor(this.#handle).askValue<BarrierSnapshot>(this.#handle, kRequest.Inspect);
  }

  [utilInspect.custom](): string {
    return `Barrier { ${describeHandle(this.#handle)}, parties: ${this.#handle.size} }`;
  }

  #request(type: BarrierRequest, wait: RequestOptions = {}, onTimeout?: () => Error) {
    return linkFor(this.#handle).ask(this.#handle, type, wait, onTimeout);
  }
}

shareable(Barrier, ['barrier'], (handle) => new Barrier(handle.size));
