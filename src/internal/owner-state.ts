/** What every owner-side state machine (queue/state.ts, sync/*-state.ts) shares. */
import { ProcsafeError } from '../errors.js';

/** One connection to the owner; never reused once it disconnected. */
export type ClientId = number;

/** The parked request named in `cancel(requestId)` was removed and will never be answered otherwise. */
export interface CancelledEvent {
  readonly type: 'cancelled';
  readonly requestId: number;
  readonly client: ClientId;
}

/** A request that does not match what the client holds; the state is unchanged, and the broker turns it into the answer. */
export class InvalidRequest<Reason extends string> extends ProcsafeError {
  static override readonly code: string = 'EINVALIDREQUEST';
  readonly reason: Reason;

  constructor(message: string, reason: Reason) {
    super(message);
    this.reason = reason;
  }

  // Internal and never sent anywhere: the broker tells every refusal by its base class.
  static override [Symbol.hasInstance](value: unknown): boolean {
    return Function.prototype[Symbol.hasInstance].call(this, value);
  }
}
