// Module-level references: a global lookup per call is slow inside jest's vm sandbox.
const { imul, floor, sqrt, log, cos, PI } = Math;

/**
 * Seeded PRNG (xoshiro128**, seeded through splitmix32). Deterministic across platforms, fast with
 * 32-bit integer ops, and independent streams per worker come from distinct seeds.
 */
export class Rng {
  /**
   * The state (a, b, c, d) as int32 in a typed array: as object fields, values above 2^30 are not
   * small integers and V8 boxes them as doubles, which made every draw ≈ 10 ns. Same bits either way:
   * every operation below reads its operands through ToInt32/ToUint32.
   */
  private readonly s = new Int32Array(4);

  constructor(seed: number) {
    let s = seed >>> 0;
    const split = (): number => {
      s = (s + 0x9e3779b9) | 0;
      let z = s;
      z = imul(z ^ (z >>> 16), 0x85ebca6b);
      z = imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    const st = this.s;
    st[0] = split();
    st[1] = split();
    st[2] = split();
    st[3] = split();
    if ((st[0] | st[1] | st[2] | st[3]) === 0) st[0] = 1;
  }

  /** Uniform 32-bit unsigned integer. */
  nextU32(): number {
    const st = this.s;
    let a = st[0];
    let b = st[1];
    let c = st[2];
    let d = st[3];
    const result = imul(rotl(imul(b, 5), 7), 9) >>> 0;
    const t = b << 9;
    c ^= a;
    d ^= b;
    b ^= c;
    a ^= d;
    c ^= t;
    d = rotl(d, 11);
    st[0] = a;
    st[1] = b;
    st[2] = c;
    st[3] = d;
    return result;
  }

  /** Uniform double in [0, 1) with 53 random bits. */
  next(): number {
    const hi = this.nextU32() >>> 5; // 27 bits
    const lo = this.nextU32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Uniform integer in [0, k). */
  int(k: number): number {
    return floor(this.next() * k);
  }

  /** Standard normal (Box–Muller; one value per call, simplicity over speed). */
  normal(): number {
    let u = 0;
    while (u === 0) u = this.next();
    return sqrt(-2 * log(u)) * cos(2 * PI * this.next());
  }

  /** In-place Fisher–Yates shuffle. */
  shuffle<T extends { length: number; [i: number]: number }>(arr: T): T {
    for (let i = arr.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = arr[i];
      arr[i] = arr[j];
      arr[j] = tmp;
    }
    return arr;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
