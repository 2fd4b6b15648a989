import { Rng } from '@soda/core';
import {
  decodeFromMaster,
  decodeFromWorker,
  encode,
  PROTOCOL_VERSION,
  ProtocolError,
  type DecodeContext,
  type Message,
} from '@soda/protocol';
import { sampleMessages } from './samples';

/* Protocol 2's frames for data at scale: every new field's rule, shown to bite. */

type Tree = Record<string, unknown>;
const samples = sampleMessages(new Rng(5), 500, 6);

/** The error the receiver reports; fails the test if the frame is accepted. */
function reject(frame: Tree, toMaster = true, ctx: DecodeContext = {}): ProtocolError {
  const input = encode(frame as unknown as Message);
  const r = toMaster ? decodeFromWorker(input, ctx) : decodeFromMaster(input, ctx);
  if (r.ok) throw new Error(`accepted: ${JSON.stringify(r.msg)}`);
  expect(r.error).toBeInstanceOf(ProtocolError);
  return r.error;
}

describe('data at scale: assign forms, stats, scale and the gap parts', () => {
  const at = (t: string, i: number): Tree =>
    structuredClone(samples.filter((m) => m.t === t)[i]) as unknown as Tree;
  const rejectTree = (tree: Tree, toMaster: boolean, ctx: DecodeContext = {}) => reject(tree, toMaster, ctx);

  it('an assign without n (stats round) may carry neither w_i nor divisors nor rows', () => {
    const stats = at('assign', 3);
    expect(stats.n).toBeUndefined();
    expect(decodeFromMaster(encode(stats as unknown as Message)).ok).toBe(true);
    expect(rejectTree({ ...stats, wi: at('assign', 0).wi }, false).message).toBe(
      'assign.wi must be absent when n is (it comes with the scale frame)',
    );
    expect(rejectTree({ ...stats, scale: new Float64Array(500).fill(1) }, false).message).toBe(
      'assign.scale must be absent when n is',
    );
    expect(rejectTree({ ...stats, rows: at('assign', 0).rows }, false).message).toBe('assign.n is missing');
  });

  it('divisors: exactly n, positive and finite', () => {
    const spare = at('assign', 2);
    (spare.scale as Float64Array)[7] = 0;
    expect(rejectTree(spare, false).message).toBe('assign.scale[7] = 0 must be positive and finite');
    const short = at('scale', 0);
    short.scale = new Float64Array(499).fill(1);
    expect(rejectTree(short, false).message).toBe('scale.scale has 499 entries; it must have n = 500');
  });

  it('dimensions must match the run’s n when the receiver knows it', () => {
    expect(reject(at('stats', 0), true, { n: 400 }).message).toBe(
      "stats.n = 500 does not match the run's dimension n = 400",
    );
    expect(reject(at('ready', 1), true, { n: 400 }).message).toBe(
      "ready.n = 500 does not match the run's dimension n = 400",
    );
    expect(reject(at('scale', 0), false, { n: 400 }).message).toBe(
      "scale.n = 500 does not match the run's dimension n = 400",
    );
    expect(reject(at('evalResult', 2), true, { n: 400 }).message).toBe(
      "evalResult.u.n = 500 does not match the run's dimension n = 400",
    );
  });

  it('column maxima must be positive; gap parts travel together', () => {
    const st = at('stats', 0);
    (st.colMax as { val: Float64Array }).val[1] = 0;
    const e = rejectTree(st, true);
    expect([e.field, e.message]).toEqual([
      'colMax.val[1]',
      'stats.colMax.val[1] = 0 must be positive (a maximum of |x|; zeros are left out)',
    ]);
    for (const [bad, why] of [
      [0.5, 'evalResult.entropy = 0.5 must be in (-∞, 0]'],
      [NaN, 'evalResult.entropy = NaN is not finite'],
    ] as const)
      expect(rejectTree({ ...at('evalResult', 2), entropy: bad }, true).message).toBe(why);
    const er = at('evalResult', 2);
    delete er.u;
    expect(rejectTree(er, true).message).toBe('evalResult.u is missing; entropy and u are sent together');
  });

  it('protocol-1 fields no one reads are dropped on decode', () => {
    const old = { ...at('assign', 0), shards: 3, pi: 0.25, lambda1: 1e-4, gamma: 0.5 };
    const r = decodeFromMaster(encode(old as unknown as Message));
    expect(
      r.ok && Object.keys(r.msg).filter((k) => ['shards', 'pi', 'lambda1', 'gamma'].includes(k)),
    ).toEqual([]);
    const hello = { t: 'hello', version: PROTOCOL_VERSION, workerId: 'w', caps: ['x'] };
    const h = decodeFromWorker(encode(hello as unknown as Message));
    expect(h.ok).toBe(true);
    expect(h.ok && 'caps' in h.msg).toBe(false);
  });
});
