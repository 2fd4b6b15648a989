/**
 * Reusable memory for outgoing frames. A model reply (tens of kB) or an update is encoded into a fresh
 * buffer on every step; each is memory outside V8's heap that only a full mark-compact frees, and the
 * master allocated ≈ 65 kB of it an update (BENCHMARKS.md): ≈ 3 mark-compacts a second, and the first
 * touch of each new block's pages in the encoder's copy. A pool hands the same blocks round instead.
 *
 * Blocks come in power-of-two sizes from 4 KiB to `maxBytes`; a larger frame gets a buffer of its own,
 * as before. A block goes back only through give(), which the sender calls once the socket no longer
 * reads it (`ws.send`'s callback): a block never given back (a closed socket that never calls back) is
 * merely garbage, while one given back early would be overwritten on the wire, so give() is the one rule.
 * Memory: at most `perSize` idle blocks of each size, so ≤ 2·perSize·maxBytes in all.
 */
export class FramePool {
  /** idle blocks by size class (class c holds blocks of 2^(c + MIN_SHIFT) bytes) */
  private readonly idle: ArrayBuffer[][];
  /** every block this pool made, so give() takes back only its own (never msgpackr's or a slice of one) */
  private readonly own = new WeakSet<ArrayBuffer>();
  /** blocks made and blocks handed out again (tests, and the reuse rate in a benchmark) */
  made = 0;
  reused = 0;

  constructor(
    readonly maxBytes = 1 << 20,
    readonly perSize = 8,
  ) {
    if (!(Number.isInteger(Math.log2(maxBytes)) && maxBytes >= 1 << MIN_SHIFT))
      throw new RangeError(`FramePool: maxBytes must be a power of two ≥ ${1 << MIN_SHIFT}, got ${maxBytes}`);
    if (!(Number.isInteger(perSize) && perSize >= 1))
      throw new RangeError(`FramePool: perSize must be an integer ≥ 1, got ${perSize}`);
    this.idle = Array.from({ length: Math.log2(maxBytes) - MIN_SHIFT + 1 }, () => []);
  }

  /**
   * A buffer of exactly `size` bytes, its contents undefined (as Buffer.allocUnsafe's), starting at
   * offset 0 of its block (so 8-byte aligned). Above maxBytes: Buffer.allocUnsafe(size).
   */
  take(size: number): Buffer {
    if (size > this.maxBytes) return Buffer.allocUnsafe(size);
    const c = sizeClass(size);
    const block = this.idle[c].pop();
    if (block !== undefined) {
      this.reused++;
      return Buffer.from(block, 0, size);
    }
    const fresh = new ArrayBuffer(1 << (c + MIN_SHIFT));
    this.own.add(fresh);
    this.made++;
    return Buffer.from(fresh, 0, size);
  }

  /**
   * `buf`'s block is free again: call only when nothing will read `buf` (or any view of its block) any
   * more. Anything the pool did not make, and blocks beyond perSize idle ones, are left to the GC.
   */
  give(buf: Uint8Array): void {
    const block = buf.buffer;
    if (!(block instanceof ArrayBuffer) || !this.own.has(block)) return;
    const list = this.idle[sizeClass(block.byteLength)];
    if (list.length < this.perSize && !list.includes(block)) list.push(block);
  }
}

/** the smallest block: 4 KiB (smaller frames come from Node's own pool in Buffer.allocUnsafe anyway) */
const MIN_SHIFT = 12;

/** The class whose blocks hold `size` bytes: ⌈log2 size⌉ − MIN_SHIFT, at least 0. */
function sizeClass(size: number): number {
  return size <= 1 << MIN_SHIFT ? 0 : 32 - Math.clz32(size - 1) - MIN_SHIFT;
}
