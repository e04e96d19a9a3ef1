/** A Condition's protocol, over its ConditionState. Its Lock is another object, maybe of another owner. */
import { unreachable } from '../../internal/unreachable.js';
import { kNotifyAll } from '../../sync/condition-state.js';
import { ConditionState, type EventStateEvent } from '../../sync/state.js';
import { type Frame, ProtocolViolation } from '../../transport/frame.js';
import { encodeRefusal, isConditionRequest, kRequest, type ObjectRequest } from '../protocol.js';
import { Adapter, type Client, done, type Host, type ObjectSpec, value } from './adapter.js';

export class ConditionAdapter extends Adapter<EventStateEvent, ConditionState> {
  constructor(spec: ObjectSpec, host: Host) {
    super(spec, new ConditionState(), host);
  }

  handle(client: Client, type: ObjectRequest, { payload }: Frame, id: number): void {
    if (!isConditionRequest(type)) throw new ProtocolViolation(`request type ${type} is not a condition request`);
    const { state } = this;
    switch (type) {
      case kRequest.Wait: return this.answer(state.wait(client.id, id));
      case kRequest.Notify: {
        if (payload.length !== 4) throw new ProtocolViolation('a notify carries a u32 count');
        const n = payload.readUInt32BE(0);
        return this.doneThen(client, id, state.notify(n === kNotifyAll ? Infinity : n));
      }
      case kRequest.WaitDone:
        if (payload.length !== 1 || (payload[0] ?? 2) > 1) throw new ProtocolViolation('a wait done carries one byte, 0 or 1');
        return this.answer(state.confirm(client.id, payload[0] === 1));
      // What a wait costs the client anyway: the answer proves every earlier request of this link was applied.
      case kRequest.Stats: return this.host.send(client, [value(id, state.inspect().waiters.length)]);
      default: return unreachable(type, 'condition request');
    }
  }

  protected reply(client: Client, id: number, event: EventStateEvent): void {
    this.host.send(client, [event.type === 'woken' ? done(id) : encodeRefusal(id, 'cancelled', 'cancelled')]);
  }
}
