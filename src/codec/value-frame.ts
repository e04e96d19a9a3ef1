/**
 * Frames whose payload is a v8 value (the layout is transport/frame.ts's). A
 * frame is built in one allocation (the v8 serializer writes after the header),
 * and the same bytes are resent when a task is retried.
 */
import { frameHeader, kLengthBytes } from '../transport/frame.js';
import { serializeAfter } from './v8.js';

/**
 * A frame carrying a v8-serialized value, as the chunks to send in order (large
 * binary parts travel as they are); throws SerializationError naming `path` if
 * the value cannot be copied.
 */
export function encodeFrame(type: number, id: number, fn: string, value: unknown, path: string, what: string, checked = false): Buffer[] {
  const chunks = serializeAfter(frameHeader(type, id, fn), value, path, what, checked);
  let length = 0;
  for (const chunk of chunks) length += chunk.length;
  (chunks[0] as Buffer).writeUInt32BE(length - kLengthBytes, 0);
  return chunks;
}
