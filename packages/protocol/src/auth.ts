import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { isBytes } from './bytes';

/**
 * Shared-token authentication: the master sends a fresh random nonce in its challenge, the worker
 * answers with HMAC-SHA256(token, nonce). The token never crosses the wire, and a recorded proof is
 * useless against the next connection's nonce.
 */
export const NONCE_BYTES = 32;
export const PROOF_BYTES = 32;

export function makeNonce(): Uint8Array {
  return new Uint8Array(randomBytes(NONCE_BYTES));
}

/** HMAC-SHA256 of the nonce, keyed by the token (UTF-8). */
export function proveToken(token: string, nonce: Uint8Array): Uint8Array {
  return new Uint8Array(createHmac('sha256', token).update(nonce).digest());
}

/** Whether `proof` is the token's proof for `nonce`, compared in constant time. */
export function verifyProof(token: string, nonce: Uint8Array, proof: Uint8Array | undefined): boolean {
  // timingSafeEqual throws on unequal lengths; the length itself is public (it is 32 by protocol)
  if (!isBytes(proof) || proof.byteLength !== PROOF_BYTES) return false;
  return timingSafeEqual(proveToken(token, nonce), proof);
}
