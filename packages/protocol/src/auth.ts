import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { isBytes } from './bytes';

/**
 * Shared-token authentication (protocol 2): both sides prove they know the token with an
 * HMAC-SHA256, keyed by the token, of the session's transcript (transcript() below: both nonces, the
 * run id, the MAC flag and the direction). The token never crosses the wire, and a recorded proof is
 * useless in the next session, whose nonces are fresh.
 */
export const NONCE_BYTES = 32;
export const PROOF_BYTES = 32;

export function makeNonce(): Uint8Array {
  return new Uint8Array(randomBytes(NONCE_BYTES));
}

/** HMAC-SHA256 of `data` (a session transcript), keyed by the token (UTF-8). */
export function proveToken(token: string, data: Uint8Array): Uint8Array {
  return new Uint8Array(createHmac('sha256', token).update(data).digest());
}

/** Whether `proof` is the token's proof of `data`, compared in constant time. */
export function verifyProof(token: string, data: Uint8Array, proof: Uint8Array | undefined): boolean {
  // timingSafeEqual throws on unequal lengths; the length itself is public (it is 32 by protocol)
  if (!isBytes(proof) || proof.byteLength !== PROOF_BYTES) return false;
  return timingSafeEqual(proveToken(token, data), proof);
}

/**
 * Mutual, session-bound authentication. Both sides contribute a nonce (the master's in `challenge`,
 * the worker's in `hello`), and each proof covers both nonces, the run id, whether frames will be
 * MACed, and the DIRECTION — so a worker's proof cannot be reflected back as the master's, a proof
 * from one session is useless in another, and a relay cannot strip the MAC flag unnoticed. The
 * worker proves first (hello.proof); the master answers with `welcome.proof`, and a worker that holds
 * a token refuses a master that cannot produce it (a relay posing as the master collects nothing
 * reusable: the next session has fresh nonces on both sides).
 */
export type Direction = 'worker->master' | 'master->worker';

export interface SessionParams {
  readonly masterNonce: Uint8Array;
  readonly workerNonce: Uint8Array;
  /** '' when the master does not announce one */
  readonly runId: string;
  /** whether every later frame carries a MAC (token over plain ws://) */
  readonly mac: boolean;
}

/** The bytes a proof is computed over: length-prefixed, so no two parameter sets collide. */
export function transcript(dir: Direction, s: SessionParams): Buffer {
  const parts = [
    Buffer.from(`soda-v1 proof ${dir}`),
    Buffer.from(s.masterNonce),
    Buffer.from(s.workerNonce),
    Buffer.from(s.runId, 'utf8'),
    Buffer.from([s.mac ? 1 : 0]),
  ];
  const out: Buffer[] = [];
  for (const p of parts) {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(p.length);
    out.push(len, p);
  }
  return Buffer.concat(out);
}

export function proveSession(token: string, dir: Direction, s: SessionParams): Uint8Array {
  return proveToken(token, transcript(dir, s));
}

export function verifySession(
  token: string,
  dir: Direction,
  s: SessionParams,
  proof: Uint8Array | undefined,
): boolean {
  return verifyProof(token, transcript(dir, s), proof);
}
