// Frames whose payload is a v8 value (layout: transport/frame.ts), built in one allocation (the serializer writes after
// the header); a retried task resends the same bytes.
import { frameHeader, kLengthBytes } from '../transport/frame.js';
import { serializeAfter } from './v8.js';
import { totalLength } from '../internal/chunks.js';

// A frame carrying a v8-serialized value, as chunks to send in order (large binary parts travel as they are); throws
// SerializationError naming `path` if the value cannot be copied.
export function encodeFrame(type: number, id: number, fn: string, value: unknown, path: string, what: string, checked = false): Buffer[] {
  const chunks = serializeAfter(frameHeader(type, id, fn), value, path, what, checked);
  const length = totalLength(chunks);
  (chunks[0] as Buffer).writeUInt32BE(length - kLengthBytes, 0);
  return chunks;
}
