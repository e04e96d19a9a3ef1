// The handshake on an owner's socket (server.ts, client.ts), apart from broker/protocol.ts because the transport
// proves secrets for anyone: `procsafe status` uses it and never speaks to a broker's objects.
export const kHandshake = {
  /** owner -> peer; payload: a nonce. */
  Hello: 40,
  /** peer -> owner; fn: the object; payload: HMAC-SHA256(its secret, nonce). Sent again, same nonce, per further object. */
  Auth: 41,
  /** owner -> peer: proven. */
  Welcome: 42,
  /** owner -> peer, after Welcome: lanes offered (transport/lanes/); fn: the lane file's name in the owner's directory. */
  Lanes: 43,
  /** peer -> owner: lanes mapped; every later frame of the peer's travels in its up lane. */
  LanesOn: 44,
  /** peer -> owner: lanes declined (no addon here): the socket carries everything. */
  LanesNo: 45,
  /** owner -> peer, answering LanesOn: every later frame of the owner's travels in the down lane. */
  LanesSwitched: 46,
} as const;

export type HandshakeKind = (typeof kHandshake)[keyof typeof kHandshake];

// How long a peer has to prove a secret before the owner cuts it. A peer whose thread was blocked that long was cut
// for being late, not refused: it connects again (broker/link.ts).
export const kHandshakeDeadlineMs = 5_000;
