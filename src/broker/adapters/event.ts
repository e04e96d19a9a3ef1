/** An Event's protocol, over its EventState. */
import { unreachable } from '../../internal/unreachable.js';
import { type EventStateEvent, EventState } from '../../sync/state.js';
import { ProtocolViolation } from '../../transport/frame.js';
import { encodeRefusal, isEventRequest, kRequest, type ObjectRequest } from '../protocol.js';
import { Adapter, type Client, done, type Host, type ObjectSpec, value } from './adapter.js';

export class EventAdapter extends Adapter<EventStateEvent, EventState> {
  constructor(spec: ObjectSpec, host: Host) {
    super(spec, new EventState(), host);
  }

  handle(client: Client, type: ObjectRequest, _frame: unknown, id: number): void {
    if (!isEventRequest(type)) throw new ProtocolViolation(`request type ${type} is not an event request`);
    const { state } = this;
    switch (type) {
      case kRequest.Set: return this.doneThen(client, id, state.set());
      case kRequest.Clear: state.clear(); return this.host.send(client, [done(id)]);
      case kRequest.Wait: return this.answer(state.wait(client.id, id));
      case kRequest.Stats: return this.host.send(client, [value(id, state.isSet())]);
      default: return unreachable(type, 'event request');
    }
  }

  protected reply(client: Client, id: number, event: EventStateEvent): void {
    this.host.send(client, [event.type === 'woken' ? done(id) : encodeRefusal(id, 'cancelled', 'cancelled')]);
  }
}
