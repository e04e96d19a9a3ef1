/** A Lock's, Semaphore's or BoundedSemaphore's protocol, over its SemaphoreState. */
import { unreachable } from '../../internal/unreachable.js';
import { type SemaphoreEvent, SemaphoreState } from '../../sync/state.js';
import { encodeHead, type Frame, ProtocolViolation } from '../../transport/frame.js';
import { encodeRefusal, isLockRequest, kAnswer, kRequest, type ObjectRequest } from '../protocol.js';
import { Adapter, type Client, type Host, type ObjectSpec, value } from './adapter.js';

export class LockAdapter extends Adapter<SemaphoreEvent, SemaphoreState> {
  constructor(spec: ObjectSpec, host: Host) {
    // Only a plain Semaphore is unbounded: a Lock never holds two permits, it is bounded at its one.
    super(spec, new SemaphoreState(spec.size, spec.kind !== 'semaphore'), host);
  }

  handle(client: Client, type: ObjectRequest, { payload }: Frame, id: number): void {
    if (!isLockRequest(type)) throw new ProtocolViolation(`request type ${type} is not a lock request`);
    const { state } = this;
    switch (type) {
      case kRequest.Acquire: case kRequest.AcquireNowait:
        return this.answer(this.nowait(state.acquire(client.id, id), id, type === kRequest.AcquireNowait));
      case kRequest.ReleaseLease: {
        // A 5th byte 1: a late grant handed back unseen (broker/link.ts), its previousOwnerDied kept for the next holder.
        if (payload.length !== 4 && payload.length !== 5) {
          throw new ProtocolViolation('a lease release carries a 4-byte lease id and an optional flag byte');
        }
        return this.answer(state.release(client.id, payload.readUInt32BE(0), payload[4] === 1));
      }
      case kRequest.AddPermits:
        if (payload.length !== 4) throw new ProtocolViolation('a release of permits carries a 4-byte count');
        return this.doneThen(client, id, state.add(payload.readUInt32BE(0)));
      case kRequest.Stats: return this.host.send(client, [value(id, state.free)]);
      default: return unreachable(type, 'lock request');
    }
  }

  protected reply(client: Client, id: number, event: SemaphoreEvent): void {
    if (event.type === 'cancelled') return this.host.send(client, [encodeRefusal(id, 'cancelled', 'cancelled')]);
    const frame = encodeHead(kAnswer.Granted, id, '', 5);
    frame.writeUInt32BE(event.leaseId, frame.length - 5);
    frame[frame.length - 1] = event.previousOwnerDied ? 1 : 0;
    this.host.send(client, [frame]);
  }
}
