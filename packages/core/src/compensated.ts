/**
 * Neumaier's compensated summation: the one summation routine behind every figure that is reported
 * or compared (objectives, norms, w̄ = Σ π_i w_i). Suboptimalities down to 1e−15 mean something only
 * if F itself is accurate to a few ulps, which a plain running sum over thousands of terms is not.
 * Valid for terms of either sign (unlike Kahan's, it also catches a term larger than the running sum).
 */
export class CompensatedSum {
  private s = 0;
  private c = 0;

  add(v: number): void {
    const s = this.s;
    const t = s + v;
    this.c += (s >= 0 ? s : -s) >= (v >= 0 ? v : -v) ? s - t + v : v - t + s;
    this.s = t;
  }

  get value(): number {
    return this.s + this.c;
  }
}
