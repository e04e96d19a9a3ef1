import { ProtocolViolation } from './protocol-violation.js';

/** For a switch's `default`: the compiler proves it unreachable, and a value that gets there anyway is named. */
export function unreachable(kind: never, what: string): never {
  throw new ProtocolViolation(`${what} ${String(kind)} is not handled`);
}
