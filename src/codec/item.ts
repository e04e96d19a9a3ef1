// A queue item or pipe message as bytes: the fast form (fast-value.ts) when the value fits it, else v8's.
import { decodeSimple, encodeSimple, kNotSimple } from './fast-value.js';
import { deserialize, serializeAfter } from './v8.js';

const kEmpty = Buffer.alloc(0);

/** The item's bytes; `path` and `what` name it in a SerializationError. */
export function encodeItem(value: unknown, path: string, what: string): Buffer[] {
  const simple = encodeSimple(value);
  return simple !== undefined ? [simple] : serializeAfter(kEmpty, value, path, what);
}

export function decodeItem(payload: Buffer): unknown {
  const simple = decodeSimple(payload);
  return simple === kNotSimple ? deserialize(payload) : simple;
}
