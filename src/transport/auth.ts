// Peers prove they hold an object's secret without sending it: the owner sends a fresh nonce, the peer answers
// HMAC-SHA256(secret, nonce). A process that merely finds the socket learns nothing it could replay.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const kNonceBytes = 32;

export function newSecret(): string {
  return randomBytes(32).toString('base64url');
}

export function newNonce(): Buffer {
  return randomBytes(kNonceBytes);
}

export function proof(secret: string, nonce: Buffer): Buffer {
  return createHmac('sha256', secret).update(nonce).digest();
}

export function verifyProof(secret: string, nonce: Buffer, claimed: Buffer): boolean {
  const expected = proof(secret, nonce);
  return claimed.length === expected.length && timingSafeEqual(claimed, expected);
}
