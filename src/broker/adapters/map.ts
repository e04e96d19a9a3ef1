/** A SharedMap's protocol, over its MapState. No request waits and no client holds anything: a death changes nothing. */
import { payloadProblem } from '../../codec/v8.js';
import { InvalidRequest } from '../../internal/owner-state.js';
import { unreachable } from '../../internal/unreachable.js';
import { MapState } from '../../shared/map-state.js';
import { encodeHead, type Frame, ProtocolViolation } from '../../transport/frame.js';
import { decodeParts, encodeParts, isMapRequest, kAnswer, kRequest, type ObjectRequest, wholePayload } from '../protocol.js';
import { type Client, done, type Host, type ObjectAdapter, type ObjectSpec, value } from './adapter.js';
import { totalLength } from '../../internal/chunks.js';

export class MapAdapter implements ObjectAdapter {
  readonly spec: ObjectSpec;
  readonly spills = false;
  readonly #host: Host;
  readonly #state = new MapState();

  constructor(spec: ObjectSpec, host: Host) {
    this.spec = spec;
    this.#host = host;
  }

  connect(): void {}

  disconnect(): void {}

  // Nothing waits, so nothing is ever booked to cancel.
  cancel(): void {}

  inspect(): object {
    return this.#state.inspect();
  }

  handle(client: Client, type: ObjectRequest, frame: Frame, id: number): void {
    if (!isMapRequest(type)) throw new ProtocolViolation(`request type ${type} is not a map request`);
    const state = this.#state;
    const payload = wholePayload(frame);
    const send = (frame: Buffer[]): void => this.#host.send(client, frame);
    switch (type) {
      case kRequest.MapGet: {
        const found = state.get(this.#parts(payload, 1)[0] as Buffer);
        return send(this.#answer(id, found === undefined ? [] : [found]));
      }
      case kRequest.MapSet: {
        const [key, next] = this.#parts(payload, 2) as [Buffer, Buffer];
        state.set(Buffer.from(key), Buffer.from(next));
        return send([done(id)]);
      }
      case kRequest.MapDelete: return send([value(id, state.delete(this.#parts(payload, 1)[0] as Buffer))]);
      case kRequest.MapHas: return send([value(id, state.has(this.#parts(payload, 1)[0] as Buffer))]);
      case kRequest.MapSize: return send([value(id, state.size)]);
      case kRequest.MapEntries: return send(this.#answer(id, state.entries().flatMap(({ key, value: item }) => [key, item])));
      case kRequest.MapClear: state.clear(); return send([done(id)]);
      case kRequest.MapCompareAndSet: {
        const parts = this.#parts(payload, 2, 3);
        const [key, next, expected] = parts as [Buffer, Buffer, Buffer | undefined];
        return send([value(id, state.compareAndSet(Buffer.from(key), expected, Buffer.from(next)))]);
      }
      default: return unreachable(type, 'map request');
    }
  }

  /** The request's parts, each checked to be a serialized value, so no reader ever gets garbage from here. */
  #parts(payload: Buffer, least: number, most = least): Buffer[] {
    const parts = decodeParts(payload, 'a map request');
    if (parts.length < least || parts.length > most) {
      throw new ProtocolViolation(`a map request carries ${least === most ? least : `${least} or ${most}`} parts, got ${parts.length}`);
    }
    for (const part of parts) {
      const problem = payloadProblem(part);
      if (problem !== undefined) throw new ProtocolViolation(`a map request's part is not a serialized value: ${problem}`);
    }
    return parts;
  }

  /** Refused, not sent, when over what the client takes in one frame: the map stays as it is. */
  #answer(id: number, parts: readonly Buffer[]): Buffer[] {
    const body = encodeParts(parts);
    const length = totalLength(body);
    if (length > this.spec.maxMessageBytes) {
      throw new InvalidRequest(`the answer would be ${length} bytes, over the map's limit of ${this.spec.maxMessageBytes}; ` +
        'keep fewer or smaller entries, or read them one key at a time with get()', 'too-large');
    }
    return [encodeHead(kAnswer.MapParts, id, '', length, 0), ...body];
  }
}
