/** A Barrier's protocol, over its BarrierState. */
import { unreachable } from '../../internal/unreachable.js';
import { type BarrierEvent, BarrierState } from '../../sync/state.js';
import { encodeHead, ProtocolViolation } from '../../transport/frame.js';
import { encodeRefusal, isBarrierRequest, kAnswer, kRequest, type ObjectRequest } from '../protocol.js';
import { Adapter, type Client, type Host, type ObjectSpec, value } from './adapter.js';

export class BarrierAdapter extends Adapter<BarrierEvent, BarrierState> {
  constructor(spec: ObjectSpec, host: Host) {
    super(spec, new BarrierState(spec.size), host);
  }

  handle(client: Client, type: ObjectRequest, _frame: unknown, id: number): void {
    if (!isBarrierRequest(type)) throw new ProtocolViolation(`request type ${type} is not a barrier request`);
    const { state } = this;
    switch (type) {
      case kRequest.Wait: return this.answer(state.wait(client.id, id));
      case kRequest.Abort: return this.doneThen(client, id, state.abort());
      case kRequest.Reset: return this.doneThen(client, id, state.reset());
      case kRequest.Stats: return this.host.send(client, [value(id, { broken: state.broken, waiting: state.inspect().waiters.length })]);
      default: return unreachable(type, 'barrier request');
    }
  }

  protected reply(client: Client, id: number, event: BarrierEvent): void {
    switch (event.type) {
      case 'cancelled': return this.host.send(client, [encodeRefusal(id, 'cancelled', 'cancelled')]);
      case 'broken': return this.host.send(client, [encodeRefusal(id, 'broken', 'the barrier is broken')]);
      case 'passed': {
        const frame = encodeHead(kAnswer.Passed, id, '', 4);
        frame.writeUInt32BE(event.index, frame.length - 4);
        return this.host.send(client, [frame]);
      }
    }
  }
}
