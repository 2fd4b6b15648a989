import { ShardTable } from '../src/shards';
import { RunStats } from '../src/stats';
import { tinyData } from './harness';

describe('ShardTable: one explicit state per shard', () => {
  const parts = [Uint32Array.of(0, 1, 2), Uint32Array.of(3, 4, 5)];

  it('free → loading → ready → resetting → ready, and any → free when the owner leaves', () => {
    const t = new ShardTable(tinyData(), parts);
    expect(t.claim(7)).toMatchObject({ id: 0, state: { kind: 'loading', owner: 7, owes: 1 } });
    expect(t.markReady(0, 3)).toBe('ready');
    expect(t.shards[0]).toMatchObject({ state: { kind: 'ready', owner: 7 }, L: 3 });
    expect(t.markReady(0, 3)).toBe('unexpected');
    t.markResetting(0);
    expect(t.shards[0].state).toEqual({ kind: 'resetting', owner: 7, owes: 1 });
    expect(t.markReady(0, 3)).toBe('ready');
    expect(t.release(7)?.id).toBe(0);
    expect(t.shards[0].state).toEqual({ kind: 'free' });
    expect(t.shards[0].L).toBe(3); // L_i depends on the rows only: it survives the owner
    t.markResetting(0); // a free shard has nobody to reset
    expect(t.shards[0].state.kind).toBe('free');
  });

  it('claims the lowest free shard, queues spares in order, and forgets a spare that leaves', () => {
    const t = new ShardTable(tinyData(), parts);
    t.claim(1);
    t.claim(2);
    expect(t.claim(3)).toBeUndefined();
    expect(t.claim(4)).toBeUndefined();
    expect(t.standbyCount).toBe(2);
    expect(t.release(3)).toBeUndefined();
    t.release(1);
    expect(t.nextStandby()).toBe(4);
    expect(t.claim(4)?.id).toBe(0);

    expect(t.shardOf(4)?.id).toBe(0);
  });
});

describe('RunStats.restore: field by field, validated', () => {
  it('takes the known counters, defaults missing ones to 0 and ignores the rest', () => {
    const s = new RunStats();
    s.restore({ updates: 5, coordsUp: 10, bogus: 'x', bytesDown: 7, modelBytesDown: 3 });
    expect(s.snapshot()).toEqual({
      updates: 5,
      coordsUp: 10,
      coordsDown: 0,
      bytesUp: 0,
      bytesDown: 7,
      rejectedFrames: 0,
      departures: 0,
      evalBytesUp: 0,
      gapCoordsUp: 0,
      evalCoordsDown: 0,
      updateBytesUp: 0,
      modelBytesDown: 3,
    });
    expect((s as unknown as Record<string, unknown>).bogus).toBeUndefined();
  });

  it('refuses a counter that is not a count', () => {
    expect(() => new RunStats().restore({ updates: -1 })).toThrow(/stats.updates = -1 is not a count/);
    expect(() => new RunStats().restore({ departures: 1.5 })).toThrow(/departures/);
    expect(() => new RunStats().restore({ coordsUp: '3' })).toThrow(/coordsUp/);
  });
});
