import { createHmac } from 'node:crypto';
import {
  decodeFromWorker,
  encode,
  encodeFor,
  FrameMac,
  MAC_BYTES,
  makeNonce,
  proveSession,
  proveToken,
  verifyProof,
  verifySession,
  type SessionParams,
} from '@soda/protocol';

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

describe('mutual, session-bound proofs and the frame MAC', () => {
  const token = 's3cret-token';
  const session = (over: Partial<SessionParams> = {}): SessionParams => ({
    masterNonce: new Uint8Array(32).fill(1),
    workerNonce: new Uint8Array(32).fill(2),
    runId: 'run-1',
    mac: true,
    ...over,
  });

  it('a proof covers both nonces, the run id, the MAC flag and the direction', () => {
    const s = session();
    const proof = proveSession(token, 'worker->master', s);
    expect(verifySession(token, 'worker->master', s, proof)).toBe(true);
    // reflected as the master's proof: refused
    expect(verifySession(token, 'master->worker', s, proof)).toBe(false);
    for (const other of [
      session({ masterNonce: new Uint8Array(32).fill(3) }),
      session({ workerNonce: new Uint8Array(32).fill(3) }),
      session({ runId: 'run-2' }),
      session({ mac: false }),
    ])
      expect(verifySession(token, 'worker->master', other, proof)).toBe(false);
    expect(verifySession('other', 'worker->master', s, proof)).toBe(false);
  });

  it('seals and opens frames in order; a rewritten, replayed, reordered or injected frame fails', () => {
    const s = session();
    const w = FrameMac.forWorker(token, s);
    const m = FrameMac.forMaster(token, s);
    const f1 = w.seal(Buffer.from('frame one'));
    const f2 = w.seal(Buffer.from('frame two'));
    expect(Buffer.from(m.open(f1) as Uint8Array).toString()).toBe('frame one');
    // replay of f1 where f2 is due
    expect(m.open(f1)).toMatchObject({ code: 'E_INTEGRITY' });
    const rewritten = Buffer.from(f2);
    rewritten[0] ^= 1;
    expect(m.open(rewritten)).toMatchObject({ code: 'E_INTEGRITY' });
    expect(Buffer.from(m.open(f2) as Uint8Array).toString()).toBe('frame two');
    // reorder: f4 before f3
    const f3 = w.seal(Buffer.from('3'));
    const f4 = w.seal(Buffer.from('4'));
    expect(m.open(f4)).toMatchObject({ code: 'E_INTEGRITY' });
    expect(m.open(f3)).toBeInstanceOf(Uint8Array);
    // the master's own direction key differs: a worker frame reflected back does not verify
    const back = FrameMac.forWorker(token, s);
    expect(back.open(w.seal(Buffer.from('x')))).toMatchObject({ code: 'E_INTEGRITY' });
    expect(m.open(new Uint8Array(3))).toMatchObject({ code: 'E_INTEGRITY' });
  });

  it('the decoder verifies the MAC before parsing', () => {
    const s = session();
    const w = FrameMac.forWorker(token, s);
    const m = FrameMac.forMaster(token, s);
    const frame = encodeFor({ t: 'ready', shard: 0, m: 10, L: 0.25 }, w);
    const ok = decodeFromWorker(frame, { mac: m });
    expect(ok).toMatchObject({ ok: true, msg: { t: 'ready', L: 0.25 } });
    const forged = encode({ t: 'ready', shard: 0, m: 10, L: 1e9 });
    expect(
      decodeFromWorker(Buffer.concat([forged, frame.subarray(frame.length - MAC_BYTES)]), { mac: m }),
    ).toMatchObject({
      ok: false,
      error: { code: 'E_INTEGRITY', closeCode: 1002 },
    });
  });
});
