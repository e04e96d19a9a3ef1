import { ProcsafeError } from '../errors.js';

/** Raised by a decoder for what a peer must not send; the transport cuts the peer off. */
export class ProtocolViolation extends ProcsafeError {
  static override readonly code: string = 'EPROTOCOLVIOLATION';
}
