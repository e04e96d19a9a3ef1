/**
 * What every owner-side state machine (queue/state.ts, sync/*-state.ts) shares:
 * how clients are named and how a cancelled request is reported.
 */

/** One connection to the owner; never reused once it disconnected. */
export type ClientId = number;

/** The parked request named in `cancel(requestId)` was removed and will never be answered otherwise. */
export interface CancelledEvent {
  readonly type: 'cancelled';
  readonly requestId: number;
  readonly client: ClientId;
}
