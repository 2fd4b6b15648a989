import { Rng } from '@soda/core';
import { decodeFromMaster, encode, type Message } from '@soda/protocol';
import { sampleMessages } from './samples';

/* The intercept flag of `scale` and of an assign to a worker that reads its own file (issue 16). */

type Tree = Record<string, unknown>;
const samples = sampleMessages(new Rng(5), 500, 6);
const at = (t: string, i: number): Tree =>
  structuredClone(samples.filter((m) => m.t === t)[i]) as unknown as Tree;
const decode = (tree: Tree) => decodeFromMaster(encode(tree as unknown as Message));

describe('intercept: true tells a worker with its own data to append the constant column', () => {
  it('survives the wire in scale and in an own-data assign; absent means no intercept', () => {
    for (const tree of [at('scale', 0), at('assign', 2)]) {
      expect(tree.rows ?? null).toBeNull();
      const plain = decode(tree);
      expect(plain.ok && 'intercept' in plain.msg).toBe(false);
      const flagged = decode({ ...tree, intercept: true });
      expect(flagged.ok && (flagged.msg as { intercept?: boolean }).intercept).toBe(true);
    }
  });

  it('must be a boolean', () => {
    const r = decode({ ...at('scale', 0), intercept: 1 });
    expect(r.ok || r.error.message).toBe('scale.intercept = 1 must be a boolean');
  });
});
