/** A Queue's or JoinableQueue's protocol, over its QueueState. */
import { payloadProblem, valueHeaderIn } from '../../codec/v8.js';
import { unreachable } from '../../internal/unreachable.js';
import { fileRef } from '../../queue/spill.js';
import { type ClosedEvent, type FileItem, type Payload, type QueueEvent, QueueState } from '../../queue/state.js';
import { encodeHead, encodeText, type Frame, ProtocolViolation } from '../../transport/frame.js';
import { kNoPayload } from '../bundle.js';
import {
  deliveryFn, encodeRefusal, isQueueRequest, kAnswer, kBundle, kRequest, type ObjectRequest, quarantineRefusal,
} from '../protocol.js';
import { Adapter, type Client, done, type Host, type ObjectSpec, value } from './adapter.js';
import { totalLength } from '../../internal/chunks.js';

/** Items this small are copied out of the socket chunk they arrived in, so they do not pin it. */
const kCopyBelow = 64 * 1024;

export class QueueAdapter extends Adapter<QueueEvent, QueueState> {
  override readonly spills = true;

  constructor(spec: ObjectSpec, host: Host) {
    super(spec, new QueueState({
      maxsize: spec.size, joinable: spec.kind === 'joinable-queue', queueId: `q${spec.object}`,
      onDrop: (item) => { if (isFileItem(item)) dropFile(host, item); },
    }), host);
  }

  handle(client: Client, type: ObjectRequest, { payload, more }: Frame, id: number): void {
    if (!isQueueRequest(type)) throw new ProtocolViolation(`request type ${type} is not a queue request`);
    const { state } = this;
    switch (type) {
      case kRequest.Put: case kRequest.PutNowait:
        return this.answer(this.nowait(state.put(client.id, id, putItem(payload, more)), id, type === kRequest.PutNowait));
      case kRequest.PutFile: case kRequest.PutFileNowait: {
        const item = this.host.spills.accept(client.filePrefix, payload.toString('utf8'), this.spec.maxMessageBytes);
        return this.answer(this.nowait(state.put(client.id, id, item), id, type === kRequest.PutFileNowait));
      }
      case kRequest.Get: case kRequest.GetNowait:
        return this.answer(this.nowait(state.get(client.id, id), id, type === kRequest.GetNowait));
      case kRequest.Ack: return this.answer(state.ack(client.id, payload.toString('utf8')));
      case kRequest.Release: return this.answer(state.release(client.id, payload.toString('utf8').split('\n')));
      case kRequest.TaskDone: return this.answer(state.taskDone(client.id, payload.length === 0 ? undefined : payload.toString('utf8')));
      case kRequest.Join: return this.answer(state.join(client.id, id));
      case kRequest.Close: return this.doneThen(client, id, state.close({ immediate: closeAtOnce(payload) }));
      case kRequest.Leave: return this.doneThen(client, id, state.leave(client.id));
      case kRequest.Stats: return this.host.send(client, [value(id, { qsize: state.qsize(), full: state.full(), closed: state.closed })]);
      default: return unreachable(type, 'queue request');
    }
  }

  protected reply(client: Client, id: number, event: QueueEvent): void {
    const { host } = this;
    switch (event.type) {
      // Last in the turn: the reader that was waiting for this item is woken first (see the broker's flush).
      // The item's id is the reader's business (getEntry): the writer only needs to know it is held.
      case 'put-accepted': return host.sendPart(client, { bundle: kBundle.Done, object: '', id, fn: '', payload: kNoPayload }, true);
      case 'delivered': {
        const { item, id: itemId, deliveries } = event.entry;
        const fn = deliveryFn(deliveries, itemId);
        if (item instanceof Uint8Array) return host.sendPart(client, { bundle: kBundle.Delivered, object: '', id, fn, payload: [item] });
        if (isFileItem(item)) {
          const bytes = client.seesFiles ? undefined : host.spills.read(item);
          if (bytes === undefined) return host.send(client, [encodeText(kAnswer.DeliveredFile, id, fn, fileRef(item))]);
          return host.send(client, [encodeHead(kAnswer.Delivered, id, fn, bytes.length, 0), bytes]);
        }
        // A large item goes out in the pieces it came in (writev), never joined here.
        const length = totalLength(item);
        return host.send(client, [encodeHead(kAnswer.Delivered, id, fn, length, 0), ...item]);
      }
      case 'joined': return host.send(client, [done(id)]);
      case 'closed': return host.send(client, [encodeRefusal(id, 'closed', closedMessage(event))]);
      case 'cancelled': return host.send(client, [encodeRefusal(id, 'cancelled', 'cancelled')]);
      case 'quarantined': return host.send(client, [quarantineRefusal(id, event.id, event.deaths)]);
    }
  }
}

/**
 * A file item left its queue for good. Its writer, if still connected, gets the file back to write a
 * later item into (a fresh tmpfs file costs the kernel far more than the copy); otherwise it is deleted.
 */
function dropFile(host: Host, item: FileItem): void {
  const writer = host.writer(item.file.slice(0, item.file.indexOf('-')));
  if (writer === undefined) return host.spills.drop(item);
  host.spills.giveBack(item);
  host.send(writer, [encodeText(kAnswer.FileFree, 0, '', fileRef(item))], true);
}

/**
 * A put's payload as the owner keeps it, checked to be a serialized value. Small ones are copied out of the
 * socket's chunk (so a kept item does not pin 64 KiB); large ones stay in the pieces they arrived in (the
 * decoder's `more`), unjoined, unless the value's header runs past the first piece (then they are joined).
 */
function putItem(payload: Buffer, more: readonly Buffer[] | undefined): Buffer | readonly Buffer[] {
  let first = payload;
  let rest = more;
  if (rest !== undefined && !valueHeaderIn(first)) {
    first = Buffer.concat([first, ...rest]);
    rest = undefined;
  }
  let length = first.length;
  for (const piece of rest ?? []) length += piece.length;
  const problem = payloadProblem(first, length);
  if (problem !== undefined) throw new ProtocolViolation(`a put of ${length} bytes is not a serialized value: ${problem}`);
  if (rest !== undefined) return [first, ...rest];
  return first.length < kCopyBelow ? Buffer.from(first) : first;
}

function closeAtOnce(payload: Buffer): boolean {
  if (payload.length === 0 || (payload.length === 1 && payload[0] === 0)) return false;
  if (payload.length === 1 && payload[0] === 1) return true;
  throw new ProtocolViolation(`a Close's payload is empty or one byte 0 or 1, got ${payload.length} bytes`);
}

/** The client tells a leave from a close by its own state; the text is for logs and foreign clients. */
function closedMessage(event: ClosedEvent): string {
  if (event.left === true) return 'this client disconnected from the queue';
  return `the queue is closed${event.request === 'get' ? ' and drained' : ''}`;
}

function isFileItem(item: Payload): item is FileItem {
  return !(item instanceof Uint8Array) && !Array.isArray(item);
}
