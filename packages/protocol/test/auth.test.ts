import { createHmac } from 'node:crypto';
import { makeNonce, proveToken, verifyProof } from '@soda/protocol';

describe('challenge-response auth', () => {
  const token = 's3cret-token';

  it('makes 32-byte nonces that differ', () => {
    const a = makeNonce();
    const b = makeNonce();
    expect(a).toHaveLength(32);
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(false);
  });

  it('proves with HMAC-SHA256(token, nonce) (RFC 4231 test case 2)', () => {
    const key = 'Jefe';
    const data = new Uint8Array(Buffer.from('what do ya want for nothing?'));
    expect(Buffer.from(proveToken(key, data)).toString('hex')).toBe(
      '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
    );
    const nonce = makeNonce();
    expect(Buffer.from(proveToken(token, nonce))).toEqual(createHmac('sha256', token).update(nonce).digest());
  });

  it('verifies the right proof and refuses wrong token, nonce, bit, length or type', () => {
    const nonce = makeNonce();
    const proof = proveToken(token, nonce);
    expect(verifyProof(token, nonce, proof)).toBe(true);
    expect(verifyProof('other-token', nonce, proof)).toBe(false);
    expect(verifyProof(token, makeNonce(), proof)).toBe(false);
    const flipped = proof.slice();
    flipped[31] ^= 1;
    expect(verifyProof(token, nonce, flipped)).toBe(false);
    expect(verifyProof(token, nonce, proof.subarray(0, 31))).toBe(false);
    expect(verifyProof(token, nonce, new Uint8Array(33))).toBe(false);
    expect(verifyProof(token, nonce, new Uint8Array(0))).toBe(false);
    expect(verifyProof(token, nonce, undefined)).toBe(false);
    expect(verifyProof(token, nonce, 'abc' as unknown as Uint8Array)).toBe(false);
  });
});
