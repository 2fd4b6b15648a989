import { SodaError } from '@soda/core';

const EMPTY = 0xffffffff;

/**
 * A map from coordinates (integers in [0, 2³² − 1)) to doubles, in two typed arrays with open
 * addressing (linear probing, Fibonacci hashing, load ≤ 1/2). It replaces a `Map<number, number>` on
 * the master's hot path: a shard's w_i off its columns is read and added to for every Δ coordinate
 * there, and a JS Map spent ≈ 50 % of the master's CPU per update on spam (`npm run bench:master`).
 * Entries are never removed one by one (w_i's overflow only grows until `clear`), so probing needs no
 * tombstones. Memory: 12 bytes a slot, ≤ 4 slots an entry after growth.
 */
export class CoordMap {
  private keys: Uint32Array;
  private vals: Float64Array;
  private shift: number;
  private count = 0;

  constructor(capacity = 8) {
    let bits = 3;
    while (1 << bits < 2 * capacity) bits++;
    this.keys = new Uint32Array(1 << bits).fill(EMPTY);
    this.vals = new Float64Array(1 << bits);
    this.shift = 32 - bits;
  }

  get size(): number {
    return this.count;
  }

  /** The slot of j, or of the empty slot where j would go. */
  private slot(j: number): number {
    const keys = this.keys;
    const mask = keys.length - 1;
    let s = Math.imul(j, 0x9e3779b1) >>> this.shift;
    while (keys[s] !== j && keys[s] !== EMPTY) s = (s + 1) & mask;
    return s;
  }

  get(j: number): number {
    const s = this.slot(j);
    return this.keys[s] === j ? this.vals[s] : 0;
  }

  has(j: number): boolean {
    return this.keys[this.slot(j)] === j && j !== EMPTY;
  }

  /** map[j] += d (an absent j counts as 0) */
  add(j: number, d: number): void {
    const s = this.slot(j);
    if (this.keys[s] === j && j !== EMPTY) this.vals[s] += d;
    else this.insert(s, j, d);
  }

  set(j: number, v: number): void {
    const s = this.slot(j);
    if (this.keys[s] === j && j !== EMPTY) this.vals[s] = v;
    else this.insert(s, j, v);
  }

  private insert(s: number, j: number, v: number): void {
    if (!(j >= 0 && j < EMPTY && Number.isInteger(j)))
      throw new SodaError('E_STATE', `coordinate ${j} is not an integer in [0, 2³² − 1)`);
    this.keys[s] = j;
    this.vals[s] = v;
    if (++this.count * 2 > this.keys.length) this.rehash(2 * this.keys.length);
  }

  private rehash(size: number): void {
    const { keys, vals } = this;
    this.keys = new Uint32Array(size).fill(EMPTY);
    this.vals = new Float64Array(size);
    this.shift = 32 - Math.log2(size);
    for (let s = 0; s < keys.length; s++) {
      if (keys[s] === EMPTY) continue;
      const t = this.slot(keys[s]);
      this.keys[t] = keys[s];
      this.vals[t] = vals[s];
    }
  }

  clear(): void {
    this.keys.fill(EMPTY);
    this.vals.fill(0);
    this.count = 0;
  }

  /** The keys, sorted (a fresh array). */
  sortedKeys(): Uint32Array {
    const out = new Uint32Array(this.count);
    let k = 0;
    for (let s = 0; s < this.keys.length; s++) if (this.keys[s] !== EMPTY) out[k++] = this.keys[s];
    return out.sort();
  }

  forEach(f: (j: number, v: number) => void): void {
    for (let s = 0; s < this.keys.length; s++) if (this.keys[s] !== EMPTY) f(this.keys[s], this.vals[s]);
  }

  /** Bytes held by the two arrays. */
  get bytes(): number {
    return this.keys.byteLength + this.vals.byteLength;
  }
}
