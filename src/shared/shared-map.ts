/**
 * SharedMap: a key-value map served by the process that created it, as Python's Manager().dict(). Every call is one
 * round trip to that owner; keys and values are copied as any value is. Keys are told apart by their serialized bytes
 * (not by identity, as a JS Map does): `1` and `'1'` differ, two `{ a: 1 }` are the same key, `{ a: 1, b: 2 }` and
 * `{ b: 2, a: 1 }` are not. compareAndSet compares values the same way.
 */
import { inspect as utilInspect } from 'node:util';
import type { Handle } from '../codec/handles.js';
import { deserialize, serializeAfter } from '../codec/v8.js';
import { linkFor } from '../broker/link.js';
import { adopt, claimHandle, describeHandle, shareable } from '../broker/shareable.js';
import {
  type AnswerFrame, decodeParts, decodeRefusal, encodeParts, kAnswer, kRequest, type RequestKind, wholePayload,
} from '../broker/protocol.js';
import { ProcsafeError, SerializationError } from '../errors.js';
import { validateArgumentCount } from '../internal/validate.js';
import { encodeHead, ProtocolViolation } from '../transport/frame.js';
import { canonical } from './canonical.js';
import type { MapSnapshot } from './map-state.js';
import { totalLength } from '../internal/chunks.js';

const kMaxMessageBytes = 256 * 1024 * 1024;
const kEmpty = Buffer.alloc(0);

export class SharedMap<K = unknown, V = unknown> {
  readonly #handle: Handle;

  constructor(...args: []) {
    validateArgumentCount(args, 'SharedMap', 0, 'no arguments');
    this.#handle = claimHandle('shared-map', 0, kMaxMessageBytes);
    adopt(this, this.#handle);
  }

  /** The value under `key`, or undefined if there is none. */
  async get(key: K): Promise<V | undefined> {
    const [found] = this.#parts(await this.#ask(kRequest.MapGet, [this.#encode(key, 'key')]));
    return found === undefined ? undefined : deserialize(found) as V;
  }

  /** Resolves once the owner holds it: every later call, from any process, sees it. */
  async set(key: K, value: V): Promise<void> {
    this.#done(await this.#ask(kRequest.MapSet, [this.#encode(key, 'key'), this.#encode(value, 'value')]));
  }

  /** Whether there was such a key. */
  async delete(key: K): Promise<boolean> {
    return this.#value<boolean>(await this.#ask(kRequest.MapDelete, [this.#encode(key, 'key')]));
  }

  async has(key: K): Promise<boolean> {
    return this.#value<boolean>(await this.#ask(kRequest.MapHas, [this.#encode(key, 'key')]));
  }

  async size(): Promise<number> {
    return this.#value<number>(await this.#ask(kRequest.MapSize, []));
  }

  /** A copy of every entry, in insertion order (a key set again keeps its place). */
  async entries(): Promise<Map<K, V>> {
    const parts = this.#parts(await this.#ask(kRequest.MapEntries, []));
    const map = new Map<K, V>();
    for (let i = 0; i + 1 < parts.length; i += 2) map.set(deserialize(parts[i] as Buffer) as K, deserialize(parts[i + 1] as Buffer) as V);
    return map;
  }

  async clear(): Promise<void> {
    this.#done(await this.#ask(kRequest.MapClear, []));
  }

  /**
   * Sets `next` only if the value under `key` is `expected` (undefined: there is no such key), compared by serialized
   * bytes, in one step at the owner: true if it was, and is now `next`. Retry on false to update without a lock.
   */
  async compareAndSet(key: K, expected: V | undefined, next: V): Promise<boolean> {
    const parts = [this.#encode(key, 'key'), this.#encode(next, 'next')];
    if (expected !== undefined) parts.push(this.#encode(expected, 'expected'));
    return this.#value<boolean>(await this.#ask(kRequest.MapCompareAndSet, parts));
  }

  /** How many entries, as the owner sees them. */
  async inspect(): Promise<MapSnapshot> {
    return linkFor(this.#handle).askValue<MapSnapshot>(this.#handle, kRequest.Inspect);
  }

  [utilInspect.custom](): string {
    return `SharedMap { ${describeHandle(this.#handle)} }`;
  }

  #encode(value: unknown, path: string): Buffer {
    let same: unknown = value;
    try {
      same = canonical(value);
    } catch {
      // A throwing getter or Proxy: the copy below names it, with its path.
    }
    const bytes = Buffer.concat(serializeAfter(kEmpty, same, path, `the map's ${path}`));
    if (bytes.length > this.#handle.maxMessageBytes - 1024) {
      throw new SerializationError(`the map's ${path} is ${bytes.length} bytes serialized, over the map's limit of ` +
        `${this.#handle.maxMessageBytes - 1024}; store it in parts`, path);
    }
    return bytes;
  }

  async #ask(type: RequestKind, parts: readonly Buffer[]): Promise<AnswerFrame> {
    const body = encodeParts(parts);
    const length = totalLength(body);
    const { object } = this.#handle;
    const answer = await linkFor(this.#handle).request(this.#handle, (id) => [encodeHead(type, id, object, length, 0), ...body]);
    if (answer.type === kAnswer.Refused) throw new ProcsafeError(`SharedMap: ${decodeRefusal(answer).message}`);
    return answer;
  }

  #parts(answer: AnswerFrame): Buffer[] {
    if (answer.type !== kAnswer.MapParts) throw unexpected(answer);
    return decodeParts(wholePayload(answer), 'a map answer');
  }

  #value<T>(answer: AnswerFrame): T {
    if (answer.type !== kAnswer.Value) throw unexpected(answer);
    return JSON.parse(answer.payload.toString('utf8')) as T;
  }

  #done(answer: AnswerFrame): void {
    if (answer.type !== kAnswer.Done) throw unexpected(answer);
  }
}

function unexpected(answer: AnswerFrame): ProtocolViolation {
  return new ProtocolViolation(`the owner answered a map request with frame type ${answer.type}`);
}

shareable(SharedMap, ['shared-map'], () => new SharedMap());
