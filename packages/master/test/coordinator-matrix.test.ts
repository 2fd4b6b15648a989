import type { Command } from '../src/events';
import { Harness, evalId, only, sends } from './harness';

type PhaseName = 'waiting' | 'running' | 'finishing' | 'done';

/** A run in `phase`, with the id of the pending evaluation round (0: none). */
function inPhase(phase: PhaseName): { h: Harness; id: number } {
  const h = new Harness();
  if (phase === 'waiting') {
    h.hello(1);
    h.hello(2);
    h.ready(2, 1);
    return { h, id: 0 };
  }
  let id = evalId(h.start());
  if (phase === 'running') return { h, id };
  h.update(1, 0, 0, { 0: 1 });
  id = evalId(h.stop()); // the final w (k = 1) gets a round of its own
  if (phase === 'finishing') return { h, id };
  h.answer(1, 0, id, 1);
  h.answer(2, 1, id, 1);
  return { h, id: 0 };
}

const EVENTS = ['hello', 'ready', 'update', 'evalResult', 'close', 'tick', 'stop'] as const;

function fire(h: Harness, event: (typeof EVENTS)[number], id: number): Command[] {
  switch (event) {
    case 'hello':
      return h.hello(9);
    case 'ready':
      return h.ready(1, 0);
    case 'update':
      return h.update(1, 0, h.run.model.k, { 1: 0.5 });
    case 'evalResult':
      return h.answer(1, 0, id, 0.25);
    case 'close':
      return h.close(1);
    case 'tick':
      return h.tick(1);
    case 'stop':
      return h.stop('test');
  }
}

/**
 * What each event does in each phase, as the command types it yields. Worker 1 owns shard 0 (still
 * loading while waiting), worker 2 shard 1; the newcomer 9 finds every shard taken.
 */
const EXPECTED: Record<PhaseName, Record<(typeof EVENTS)[number], string[]>> = {
  waiting: {
    hello: ['log', 'send', 'log'], // worker joined, standby frame, worker on standby
    // the last ready starts the run: waiting 2/2, the start record, round 1 and w to both workers
    ready: ['log', 'log', 'send', 'send', 'send', 'send'],
    update: [], // dropped: the run has not started
    evalResult: [], // no round yet
    close: ['log'], // worker left; its shard is free
    tick: [],
    stop: ['close', 'finish'], // nothing to evaluate
  },
  running: {
    hello: ['log', 'send', 'log'],
    ready: ['reject'], // already ready
    update: ['send'], // w^{k+1} to worker 1
    evalResult: [], // one answer of two
    close: ['log'],
    tick: [],
    stop: [], // round 1 judges the final w: wait for it
  },
  finishing: {
    hello: ['log', 'send', 'log'],
    ready: ['reject'],
    update: [], // in flight: dropped
    evalResult: [],
    close: ['log'],
    tick: [],
    stop: [], // finishing already
  },
  done: {
    hello: ['log', 'send', 'log'], // (the wiring refuses newcomers once the run is over)
    ready: ['reject'],
    update: [],
    evalResult: [], // the round is over: a late answer
    close: [], // no departure after the end
    tick: [],
    stop: [],
  },
};

describe('Coordinator: every event in every phase', () => {
  for (const phase of ['waiting', 'running', 'finishing', 'done'] as const)
    for (const event of EVENTS)
      it(`${event} while ${phase}`, () => {
        const { h, id } = inPhase(phase);
        const out = fire(h, event, id);
        expect(out.map((c) => c.type)).toEqual(EXPECTED[phase][event]);
        // invariants whatever happened: a connection owns at most one shard, counters are counts
        const owners = h.run.shards.shards.map((s) => (s.state.kind === 'free' ? null : s.state.owner));
        const owned = owners.filter((o) => o !== null);
        expect(new Set(owned).size).toBe(owned.length);
        expect(h.run.stats.updates).toBe(h.run.model.k);
        if (phase === 'done') expect(h.c.phase).toBe('done');
        if (event === 'stop') expect(h.c.finishedReason()).not.toBeNull();
        if (event === 'update' && phase === 'running') expect(sends(out, 'model')[0].conn).toBe(1);
        if (event === 'stop' && phase === 'waiting')
          expect(only(out, 'finish')[0].outcome.reason).toBe('test');
      });
});
