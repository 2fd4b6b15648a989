import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import { ProtocolError } from './errors';
import type { Direction, SessionParams } from './auth';

/**
 * Per-frame integrity for a token over plain ws:// (over wss://, TLS does this job). Each side
 * derives one key per direction with HKDF-SHA256(token, salt = nonceM ‖ nonceW, info = direction ‖
 * runId), so the keys are fresh per session and never cross the wire. Every frame after the
 * handshake carries a 16-byte trailer: HMAC-SHA256(key, seq ‖ frame) truncated to 128 bits, where
 * seq is the frame's 64-bit sequence number in its direction. The sequence number is not sent: both
 * sides count, so a replayed, reordered, dropped, injected or rewritten frame fails to verify and the
 * connection is closed with E_INTEGRITY. The decoder (codec.ts) verifies and strips the trailer before a
 * byte of the frame is parsed.
 */
export const MAC_BYTES = 16;

function sessionKey(token: string, dir: Direction, s: SessionParams): Buffer {
  const salt = Buffer.concat([Buffer.from(s.masterNonce), Buffer.from(s.workerNonce)]);
  const info = Buffer.from(`soda-v1 frames ${dir} ${s.runId}`, 'utf8');
  return Buffer.from(hkdfSync('sha256', Buffer.from(token, 'utf8'), salt, info, 32));
}

export class FrameMac {
  private sendSeq = 0n;
  private recvSeq = 0n;
  private readonly seq = Buffer.alloc(8);

  private constructor(
    private readonly sendKey: Buffer,
    private readonly recvKey: Buffer,
  ) {}

  /** The master's end of a session. */
  static forMaster(token: string, s: SessionParams): FrameMac {
    return new FrameMac(sessionKey(token, 'master->worker', s), sessionKey(token, 'worker->master', s));
  }

  /** The worker's end of a session. */
  static forWorker(token: string, s: SessionParams): FrameMac {
    return new FrameMac(sessionKey(token, 'worker->master', s), sessionKey(token, 'master->worker', s));
  }

  /** `frame` with its trailer; call in the order the frames are handed to the socket. */
  seal(frame: Uint8Array): Buffer {
    const tag = this.tag(this.sendKey, this.sendSeq++, frame);
    return Buffer.concat([frame, tag]);
  }

  /** seal() without the copy: `buf` is the frame followed by MAC_BYTES spare bytes, which get the tag. */
  sealInPlace(buf: Uint8Array): void {
    const end = buf.byteLength - MAC_BYTES;
    const tag = this.tag(this.sendKey, this.sendSeq++, buf.subarray(0, end));
    buf.set(tag, end);
  }

  /** The frame without its trailer, or the error to close on. Counts only frames that verify. */
  open(data: Uint8Array): Uint8Array | ProtocolError {
    if (data.byteLength < MAC_BYTES)
      return new ProtocolError('E_INTEGRITY', `frame of ${data.byteLength} bytes has no MAC trailer`);
    const body = data.subarray(0, data.byteLength - MAC_BYTES);
    const tag = data.subarray(data.byteLength - MAC_BYTES);
    const want = this.tag(this.recvKey, this.recvSeq, body);
    if (!timingSafeEqual(want, tag))
      return new ProtocolError(
        'E_INTEGRITY',
        `frame ${this.recvSeq} fails its MAC: rewritten, replayed, reordered or injected on the way`,
      );
    this.recvSeq++;
    return body;
  }

  private tag(key: Buffer, seq: bigint, frame: Uint8Array): Buffer {
    this.seq.writeBigUInt64BE(seq);
    return createHmac('sha256', key).update(this.seq).update(frame).digest().subarray(0, MAC_BYTES);
  }
}
