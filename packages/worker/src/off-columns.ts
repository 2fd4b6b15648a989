/** Larger than any column id (ids are uint32): "no more entries". */
export const END = 2 ** 32;

/**
 * w_i off the shard's columns: a sorted sparse list of its non-zero coordinates. There the data
 * gradient is 0, so a masked step sets w_i[j] = (1 − γλ2) w_j, non-zero only on supp(w): the list holds
 * what has been in supp(w) and not been masked since, never n entries. Each step rebuilds it in one
 * increasing pass (take/keep) into a second buffer, then swaps.
 */
export class OffColumns {
  private idx = new Uint32Array(0);
  private val = new Float64Array(0);
  private len = 0;
  private nextIdx = new Uint32Array(0);
  private nextVal = new Float64Array(0);
  private nextLen = 0;
  /** read cursor in (idx, val) during a pass */
  private at = 0;

  get size(): number {
    return this.len;
  }

  /** Starts a pass that will keep at most `cap` entries. */
  reserve(cap: number): void {
    if (this.nextIdx.length < cap) {
      this.nextIdx = new Uint32Array(cap + (cap >> 1));
      this.nextVal = new Float64Array(cap + (cap >> 1));
    }
    this.nextLen = 0;
    this.at = 0;
  }

  /**
   * The coordinate at place k of the list as it stood when the pass began (END past its end): a pass
   * writes only the next list, so these places hold still while a step samples among them.
   */
  coordinate(k: number): number {
    return k < this.len ? this.idx[k] : END;
  }

  /** w_i[j] (0 if absent), removed from the pass; entries before j are kept as they are. */
  take(j: number): number {
    const { idx, val } = this;
    while (this.at < this.len && idx[this.at] < j) this.keep(idx[this.at], val[this.at++]);
    if (this.at < this.len && idx[this.at] === j) return val[this.at++];
    return 0;
  }

  /** w_i[j] = v for the next pass (j increasing within a pass; zeros are not stored). */
  keep(j: number, v: number): void {
    if (v === 0) return;
    this.nextIdx[this.nextLen] = j;
    this.nextVal[this.nextLen++] = v;
  }

  /** Ends the pass: entries not reached are kept, and the rebuilt list becomes current. */
  swap(): void {
    while (this.at < this.len) this.keep(this.idx[this.at], this.val[this.at++]);
    [this.idx, this.nextIdx] = [this.nextIdx, this.idx];
    [this.val, this.nextVal] = [this.nextVal, this.val];
    this.len = this.nextLen;
    this.nextLen = 0;
    this.at = 0;
  }

  /** w_i[j] by binary search (tests, inspection). */
  get(j: number): number {
    let lo = 0;
    let hi = this.len;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.idx[mid] < j) lo = mid + 1;
      else hi = mid;
    }
    return lo < this.len && this.idx[lo] === j ? this.val[lo] : 0;
  }
}
