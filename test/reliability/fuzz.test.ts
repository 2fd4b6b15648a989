import { defaultStepSize, logisticSmoothness, Rng } from '@soda/core';
import { decodeFromWorker, encode, MAC_BYTES, PROTOCOL_VERSION, type Message } from '@soda/protocol';
import { Master } from '@soda/master';
import { Worker } from '@soda/worker';
import { masterConfig, memoryLogger, workerConfig } from '../helpers/cluster';
import { plantedProblem, proxGradientOptimum } from '../helpers/problems';
import { attack, pool, RecordingProxy, type AttackOutcome, type AttackPlan } from './helpers/net';

/*
 * Thousands of random, mutated and misplaced frames thrown at a master in the middle of a real run
 * (M = 4 real workers over real sockets, attackers on their own connections). What must hold:
 *  - every attack frame is refused: an error frame naming the problem, a close code that says why,
 *    and the master's rejectedFrames counter — which equals the refusals the attackers saw;
 *  - the run converges to the same target anyway;
 *  - nothing from a refused frame reached the model: replaying exactly the updates the real workers
 *    sent (recorded on the wire by a relay) reproduces every w_i of the master bit for bit, w̄ equals
 *    Σ π_i w_i, and no attacker ever owned a shard.
 */

const N = 40;
const M = 4;
const TOKEN = 'fuzz-secret';
const lambda1 = 0.01;
// λ2 small enough that the run takes a few thousand updates (κ = L/μ ≈ 100)
const lambda2 = 0.002;
const data = plantedProblem(21, 400, N);
const L = logisticSmoothness(data.X, lambda2);
const { fstar } = proxGradientOptimum(data, lambda1, lambda2, defaultStepSize(lambda2, L), 4000);
const rng = new Rng(0xf022);

const sparse = (idx: number[], val: number[]) => ({
  n: N,
  idx: Uint32Array.from(idx),
  val: Float64Array.from(val),
});
const update = (shard: number, k = 0, delta = sparse([1, 5, 9], [0.1, -0.2, 0.3])): Message => ({
  t: 'update',
  shard,
  k,
  delta,
});
/** A valid float32 update (wire precision 32) and where its values start (they end the frame). */
function update32(shard = 0, vals = [0.1, -0.2, 0.3]): { frame: Buffer; valAt: number } {
  const delta = sparse(
    vals.map((_, t) => 1 + 4 * t),
    vals.map((x) => Math.fround(x)),
  );
  const frame = Buffer.from(encode({ t: 'update', shard, k: 0, delta, valBits: 32 }));
  return { frame, valAt: frame.length - 4 * vals.length };
}
/** update32 with its second value made `x` (NaN, ±Inf: not finite) */
function update32With(x: number): Buffer {
  const { frame, valAt } = update32();
  frame.writeFloatLE(x, valAt + 4);
  return frame;
}
/** update32 with val 2 bytes short (not a multiple of 4) */
function update32Short(): Buffer {
  const { frame, valAt } = update32();
  const short = Buffer.from(frame.subarray(0, frame.length - 2));
  short.writeUInt32BE(10, valAt - 4);
  return short;
}
/** update32 with valBits = v */
function update32Bits(v: number): Buffer {
  const { frame } = update32();
  frame[frame.indexOf('valBits') + 7] = v;
  return frame;
}

/** Valid frames of every type a worker sends: from a connection that owns no shard, all misplaced. */
const VALID: Buffer[] = [
  encode(update(0)),
  encode(update(3, 0, sparse([0, 39], [1e-300, -5]))),
  encode({ t: 'ready', shard: 1, m: 100, L: 0.25 }),
  encode({ t: 'evalResult', id: 1, shard: 2, fi: 0.6, correct: 50 }),
  encode({ t: 'hello', version: PROTOCOL_VERSION, workerId: 'again' }),
];
/** A 32-bit run's valid frames also include float32 updates. */
const VALID_32: Buffer[] = [...VALID.slice(0, 4), update32(1).frame, VALID[4]];

/** Structurally wrong messages, each with the field the error frame must name. */
const WRONG: [Buffer, RegExp][] = [
  [encode(update(0, 0, sparse([1, 2], [NaN, 1]))), /delta\.val/],
  [encode(update(0, 0, sparse([1, 2], [Infinity, 1]))), /delta\.val/],
  [encode(update(0, 0, sparse([3, 40], [1, 1]))), /delta\.idx/],
  [encode(update(0, 0, sparse([5, 2], [1, 1]))), /delta\.idx/],
  [encode(update(0, 0, sparse([1, 2, 3], [1, 1]))), /delta/],
  [encode(update(0, 0, { n: 41, idx: Uint32Array.from([1]), val: Float64Array.from([1]) })), /delta\.n/],
  [encode(update(0, -1)), /\bk\b/],
  [encode({ ...update(0), shard: 'zero' } as unknown as Message), /shard/],
  [encode({ t: 'evalResult', id: 1, shard: 0, fi: NaN }), /fi/],
  [encode({ t: 'launch', shard: 0 } as unknown as Message), /launch|type/],
  [encode({ shard: 0 } as unknown as Message), /\bt\b/],
  [encode({ t: 'ready', shard: 0, m: 0, L: 1 }), /\bm\b/],
  [
    encode({ t: 'hello', version: PROTOCOL_VERSION + 1, workerId: 'x' }),
    new RegExp(`version = ${PROTOCOL_VERSION + 1} .* protocol version ${PROTOCOL_VERSION}`),
  ],
];

/** What a 64-bit run refuses besides: a float32 update (the worker is of another run's precision). */
const WRONG_64: [Buffer, RegExp][] = [
  ...WRONG,
  [update32().frame, /delta\.valBits = 32 is refused: this run's wire precision is 64/],
];
/** What a 32-bit run refuses besides: float32 values that are not finite, of the wrong length, bad valBits. */
const WRONG_32: [Buffer, RegExp][] = [
  ...WRONG,
  [update32With(NaN), /delta\.val\[1\] = NaN is not finite/],
  [update32With(Infinity), /delta\.val\[1\] = Infinity is not finite/],
  [update32With(-Infinity), /delta\.val\[1\] = -Infinity is not finite/],
  [update32Short(), /delta\.val has 10 bytes, not a multiple of 4/],
  [update32Bits(16), /delta\.valBits = 16 must be 32 or 64/],
  [update32Bits(0x7f), /delta\.valBits = 127 must be 32 or 64/],
];

const pick = <T>(a: readonly T[]): T => a[rng.int(a.length)];
const randomBytes = (len: number) => Buffer.from(Array.from({ length: len }, () => rng.int(256)));

/** A mutated valid frame: truncated, bytes flipped, inserted or deleted, NaN planted, huge length claimed. */
function mutate(src: Buffer): Buffer {
  const b = Buffer.from(src);
  switch (rng.int(6)) {
    case 0:
      return b.subarray(0, rng.int(b.length));
    case 1:
      for (let i = 1 + rng.int(4); i > 0; i--) b[rng.int(b.length)] ^= 1 + rng.int(255);
      return b;
    case 2: {
      const at = rng.int(b.length + 1);
      return Buffer.concat([b.subarray(0, at), randomBytes(1 + rng.int(8)), b.subarray(at)]);
    }
    case 3: {
      const at = rng.int(b.length);
      return Buffer.concat([b.subarray(0, at), b.subarray(at + 1 + rng.int(8))]);
    }
    case 4: {
      // a float64 that is NaN, at a random 8-byte window
      const at = rng.int(Math.max(1, b.length - 8));
      b.writeDoubleLE(NaN, Math.min(at, b.length - 8));
      return b;
    }
    default: {
      // a bin/str/array/map header that claims a 4 GiB body
      const at = b.findIndex((x, i) => i > 0 && (x === 0xc4 || x === 0xc5 || x === 0xc6 || x === 0xd9));
      if (at < 0) return b.subarray(1);
      return Buffer.concat([
        b.subarray(0, at),
        Buffer.from([0xc6, 0xff, 0xff, 0xff, 0xff]),
        b.subarray(at + 2),
      ]);
    }
  }
}

interface Case {
  readonly plan: AttackPlan;
  /** the error frame must match this */
  readonly expect?: RegExp;
  /** frames sent after the hello */
  readonly count: number;
}

function cases(total: number, VALID: readonly Buffer[], WRONG: readonly [Buffer, RegExp][]): Case[] {
  const out: Case[] = [];
  const asStandby = () => ({ token: TOKEN, workerId: `attacker-${out.length}` });
  for (let i = 0; i < total; i++) {
    const r = rng.int(10);
    let c: Case;
    if (r === 0) c = { plan: { frames: [randomBytes(rng.int(64))] }, count: 1 };
    else if (r === 1) {
      const [frame, expect] = pick(WRONG);
      c = { plan: { hello: asStandby(), frames: [frame] }, expect, count: 1 };
    } else if (r === 2)
      // valid frames from the wrong sender: before any hello, or from a spare that owns no shard
      c = { plan: { frames: [pick(VALID.slice(0, 4))] }, expect: /before 'hello'/, count: 1 };
    else if (r === 3) {
      const frame = pick(VALID);
      const t = decodeFromWorker(frame, { n: N });
      const expect = t.ok && t.msg.t === 'hello' ? /second hello/ : /owns no shard/;
      c = { plan: { hello: asStandby(), frames: [frame] }, expect, count: 1 };
    } else if (r === 4)
      c = { plan: { hello: { workerId: `nothing-${i}` }, frames: [] }, expect: /requires a token/, count: 0 };
    else if (r === 5)
      c = {
        plan: { hello: { token: 'guess', workerId: `wrong-${i}` }, frames: [] },
        expect: /wrong token/,
        count: 0,
      };
    else if (r === 6)
      c = { plan: { hello: asStandby(), frames: ['{"t":"update"}'] }, expect: /text frames/, count: 1 };
    else
      c = {
        plan: { hello: rng.next() < 0.5 ? asStandby() : undefined, frames: [mutate(pick(VALID))] },
        count: 1,
      };
    out.push(c);
  }
  return out;
}

describe.each([
  { bits: 64 as const, total: 2500, VALID, WRONG: WRONG_64 },
  { bits: 32 as const, total: 1000, VALID: VALID_32, WRONG: WRONG_32 },
])(
  'fuzzing a master in the middle of a run (wire precision $bits)',
  ({ bits, total: attacks, VALID, WRONG }) => {
    it('refuses every bad frame, keeps training to the target, and applies only the real workers’ updates', async () => {
      // The attack, drawn before the run starts (drawing is slow in jest's sandbox, the run is fast).
      const plan = cases(attacks, VALID, WRONG);
      const burstPlans: AttackPlan[] = Array.from({ length: 25 }, (_, i) => ({
        hello: rng.next() < 0.5 ? { token: TOKEN, workerId: `burst-${i}` } : undefined,
        frames: Array.from({ length: 40 }, () => (rng.next() < 0.5 ? mutate(pick(VALID)) : pick(VALID))),
      }));
      const { logger, lines } = memoryLogger();
      const master = await Master.start(
        masterConfig(data, {
          logger,
          workers: M,
          fstar,
          lambda1,
          lambda2,
          tol: 1e-12,
          token: TOKEN,
          maxPayload: 65536,
          wirePrecision: bits,
        }),
      );
      const port = master.port;
      const proxies = await Promise.all(Array.from({ length: M }, () => RecordingProxy.start(port)));
      // A slow link for the real workers while the attack lasts: the run is in progress throughout.
      for (const px of proxies) px.throttleMs = 250;
      const workers = proxies.map((px, i) =>
        Worker.start(workerConfig(px.port, { token: TOKEN, workerId: `real-${i}` })),
      );
      try {
        await attackAndCheck();
      } catch (e) {
        console.log(lines.filter((l) => l.msg !== 'frame rejected').slice(-15));
        throw e;
      } finally {
        void master.stop('test over');
        for (const w of workers) w.leave();
        for (const px of proxies) px.close();
      }

      async function attackAndCheck(): Promise<void> {
        while (!lines.some((l) => l.msg === 'start')) await new Promise((r) => setTimeout(r, 10));
        const updatesBefore = master.stats.updates;

        // A frame that must be refused gets up to 5 s for the verdict (an attack resolves at the close, so
        // this costs nothing when the master answers; 300 ms was too short for a master on a loaded machine);
        // a mutation that may turn into a valid frame waits the default 300 ms of silence.
        const outcomes: AttackOutcome[] = await pool(
          plan.map((c) => () => attack(port, c.expect ? { ...c.plan, waitMs: 5000 } : c.plan)),
          16,
        );
        // Bursts: one connection sends 40 frames back to back; the first refusal condemns the rest.
        const bursts = await pool(
          burstPlans.map((bp) => () => attack(port, bp)),
          8,
        );
        // Frames bigger than maxPayload: ws itself closes with 1009 (too big), counted as rejected.
        const big = await attack(port, {
          hello: { token: TOKEN, workerId: 'big' },
          frames: [Buffer.alloc(100000, 0xc0)],
        });
        const health = (await (await fetch(`http://127.0.0.1:${port}/healthz`)).json()) as {
          phase: string;
        };
        expect(health.phase).toBe('running');
        expect(master.stats.updates).toBeGreaterThan(updatesBefore); // real training went on during the attack
        for (const px of proxies) px.throttleMs = 0;

        // Every attack frame was refused with an error frame and a close code that says why.
        let refused = 0;
        plan.forEach((c, i) => {
          const o = outcomes[i];
          if (o.closeCode === null) {
            // only a mutation can turn into a valid frame; it may then only be a hello, answered `standby`
            expect(c.expect).toBeUndefined();
            expect(o.assigned).toBe(false);
            return;
          }
          refused++;
          expect([1002, 1003, 1007, 1008]).toContain(o.closeCode);
          expect(o.error).not.toBeNull();
          expect(o.error!.message.length).toBeGreaterThan(0);
          if (c.expect) expect(o.error!.message).toMatch(c.expect);
          expect(o.assigned).toBe(false);
        });
        expect(refused).toBeGreaterThan(0.96 * plan.length);
        const standby = outcomes.filter((o) => o.closeCode === null).length;
        console.log(
          `fuzz: ${plan.length} single-frame attacks (${refused} refused, ${standby} mutated hellos accepted as spares), ` +
            `${burstPlans.length}×40-frame bursts; updates during the attack ${master.stats.updates - updatesBefore}`,
        );
        expect(big.closeCode).toBe(1009);
        for (const b of bursts) expect(b.closeCode).not.toBeNull();

        const result = await master.done;
        await Promise.all(workers.map((w) => w.done));
        expect(result.reason).toBe('tol');
        expect(result.subopt!).toBeLessThanOrEqual(1e-12);

        // The counter counts exactly the refusals the attackers saw (+ the oversize frame, + what bursts
        // sent before the close reached them, which the master drops unread and counts too).
        const burstSent = 25 * 40;
        expect(master.stats.rejectedFrames).toBeGreaterThanOrEqual(refused + 1 + 25);
        expect(master.stats.rejectedFrames).toBeLessThanOrEqual(refused + 1 + burstSent);
        expect(lines.filter((l) => l.msg === 'frame rejected').length).toBeGreaterThanOrEqual(
          refused + 1 + 25,
        );

        // No attacker ever owned a shard, and no real worker was ever dropped.
        const assigned = lines.filter((l) => l.msg === 'shard assigned').map((l) => l.worker);
        expect(assigned.sort()).toEqual(['real-0', 'real-1', 'real-2', 'real-3']);
        expect(master.stats.departures).toBe(0);

        // Replay: each shard's w_i is the sum, in order, of the first c_i updates its worker sent (c_i =
        // updates the master applied for it; later ones arrived after the target and were dropped).
        const { model } = master;
        const applied = master.run.shardUpdates;
        let total = 0;
        for (let i = 0; i < M; i++) {
          expect(proxies[i].connections).toBe(1);
          const replay = new Float64Array(N);
          let used = 0;
          for (const [f, frame] of proxies[i].frames.entries()) {
            // every frame after the hello carries the session MAC's trailer (token over plain ws://)
            const d = decodeFromWorker(f === 0 ? frame : frame.subarray(0, frame.length - MAC_BYTES), {
              n: N,
              wirePrecision: bits,
            });
            expect(d.ok).toBe(true);
            if (!d.ok || d.msg.t !== 'update' || used === applied[i]) continue;
            expect(d.msg.shard).toBe(i);
            if (bits === 32) for (const x of d.msg.delta.val) expect(Math.fround(x)).toBe(x); // (or beyond f32)
            const { idx, val } = d.msg.delta;
            for (let t = 0; t < idx.length; t++) replay[idx[t]] += val[t];
            used++;
          }
          expect(used).toBe(applied[i]);
          expect(Array.from(model.wiDense(i))).toEqual(Array.from(replay)); // bit for bit
          total += used;
        }
        expect(total).toBe(model.k);
        // w̄ = Σ π_i w_i (up to the rounding of the incremental sums)
        const wis = Array.from({ length: M }, (_, i) => model.wiDense(i));
        for (let j = 0; j < N; j++) {
          let s = 0;
          for (let i = 0; i < M; i++) s += model.pi[i] * wis[i][j];
          expect(Math.abs(model.wbarAt(j) - s)).toBeLessThanOrEqual(1e-12 * (1 + Math.abs(s)));
        }
      }
    });
  },
);
