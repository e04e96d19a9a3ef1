/**
 * The handshake on an owner's socket (transport/server.ts, transport/client.ts).
 * Apart from the broker's protocol (broker/protocol.ts) because the transport
 * proves secrets for anyone: `procsafe status` uses it and never speaks to a
 * broker's objects.
 */
export const kHandshake = {
  /** owner -> peer; payload: a nonce. */
  Hello: 40,
  /**
   * peer -> owner; fn: the object; payload: HMAC-SHA256(its secret, nonce). A
   * link sends it again later, with the same nonce, to open each further object.
   */
  Auth: 41,
  /** owner -> peer: proven. */
  Welcome: 42,
} as const;

export type HandshakeKind = (typeof kHandshake)[keyof typeof kHandshake];

/**
 * How long the owner gives a peer to prove a secret before it cuts the
 * connection. A peer whose own thread was blocked that long was cut for being
 * late, not refused: it connects again (broker/link.ts).
 */
export const kHandshakeDeadlineMs = 5_000;
