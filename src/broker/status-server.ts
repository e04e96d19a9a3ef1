// The broker thread's answer to `procsafe status`: a peer proving the owner's status secret (status/registry.ts) on the
// pseudo object `status` may send kInspect and gets one kValue with every object's snapshot. It opens no object and
// holds nothing, so it can neither block nor disturb the owner's traffic; anything else it sends cuts it off.
import type { Connection } from '../transport/connection.js';
import { encodeText, ProtocolViolation } from '../transport/frame.js';
import { kAnswer, kRequest } from './protocol.js';

/** The object name a status peer proves; real object ids are decimal numbers, so it cannot clash. */
export const kStatusObject = 'status';

/** How this owner's clients reach it: through their lanes in shared memory, or through the socket alone. */
export interface ClientPaths {
  readonly lanes: number;
  readonly socket: number;
}

export function serveStatus(connection: Connection, inspect: () => unknown, paths: () => ClientPaths): void {
  connection.listen({
    frame: (frame) => {
      if (frame.type !== kRequest.Inspect) {
        connection.destroy(new ProtocolViolation(`a status peer sent request type ${frame.type}`));
        return;
      }
      connection.send([encodeText(kAnswer.Value, frame.id, '', JSON.stringify({ pid: process.pid, objects: inspect(), paths: paths() }))]);
    },
    close: () => {},
  });
}
