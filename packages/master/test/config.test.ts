import { SodaError } from '@soda/core';
import { ALGO_NAMES, ALGORITHMS } from '../src/algo';
import { MASTER_DEFAULTS, resolveMasterConfig, type MasterOptions } from '../src/config';
import { AsyncApply, SyncBarrier } from '../src/strategies';
import { RunState } from '../src/run-state';
import { config } from './harness';

/** The options of the harness's tiny run without the fields under test. */
function options(over: Partial<MasterOptions>): MasterOptions {
  const { p: _p, ...rest } = config();
  return { ...rest, ...over } as MasterOptions;
}

describe('resolveMasterConfig: options become one frozen, complete config', () => {
  it('fills every default from MASTER_DEFAULTS and freezes the result', () => {
    const c = resolveMasterConfig(options({ algo: 'soda' }));
    expect(Object.isFrozen(c)).toBe(true);
    expect(c.p).toBe(MASTER_DEFAULTS.p);
    expect(c.maxRestarts).toBe(10);
    expect(c.onDivergence).toBe('restart');
    expect(c.normalize).toBe(true);
    expect(c.waitTimeoutMs).toBe(0);
    expect(c.admission.maxAuthenticated).toBe(2 * c.workers + 8);
    expect(Object.isFrozen(c.admission)).toBe(true);
    expect(Number.isSafeInteger(c.spotCheckSalt)).toBe(true);
  });

  it('keeps what is given, admission limits field by field', () => {
    const c = resolveMasterConfig(
      options({ algo: 'soda', p: 0.3, maxRestarts: 2, admission: { helloTimeoutMs: 123 }, spotCheckSalt: 5 }),
    );
    expect([c.p, c.maxRestarts, c.admission.helloTimeoutMs, c.spotCheckSalt]).toEqual([0.3, 2, 123, 5]);
    expect(c.admission.maxUnauthenticated).toBe(32); // the default of the fields not given
  });

  it('DAve-PG and sync-PG run at p = 1; another p with them is an error, not silently SODA', () => {
    for (const algo of ['dave-pg', 'sync-pg'] as const) {
      expect(resolveMasterConfig(options({ algo })).p).toBe(1);
      expect(resolveMasterConfig(options({ algo, p: 1 })).p).toBe(1);
      expect(() => resolveMasterConfig(options({ algo, p: 0.1 }))).toThrow(
        new RegExp(`algo ${algo} runs at p = 1, but p = 0.1`),
      );
    }
    let err: unknown;
    try {
      resolveMasterConfig(options({ algo: 'dave-pg', p: 0.1 }));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SodaError);
    expect((err as SodaError).code).toBe('E_CONFIG');
  });

  it('refuses an unknown algorithm and a p outside (0, 1], naming the field', () => {
    expect(() => resolveMasterConfig(options({ algo: 'sgd' as never }))).toThrow(
      /algo = sgd: expected one of soda, dave-pg, sync-pg/,
    );
    expect(() => resolveMasterConfig(options({ algo: 'soda', p: 0 }))).toThrow(/p = 0/);
    expect(() => resolveMasterConfig(options({ algo: 'soda', p: 1.5 }))).toThrow(/p = 1.5/);
  });
});

describe('the algorithm registry', () => {
  it('wire precision: 64 unless 32 is asked for; anything else is E_CONFIG naming the field', () => {
    expect(resolveMasterConfig(options({ algo: 'soda' })).wirePrecision).toBe(64);
    expect(MASTER_DEFAULTS.wirePrecision).toBe(64);
    expect(resolveMasterConfig(options({ algo: 'sync-pg', wirePrecision: 32 })).wirePrecision).toBe(32);
    for (const bad of [16, 48, 32.5, '32']) {
      const err = (() => {
        try {
          resolveMasterConfig(options({ algo: 'soda', wirePrecision: bad as unknown as 32 }));
        } catch (e) {
          return e as SodaError;
        }
        throw new Error(`wirePrecision ${String(bad)} accepted`);
      })();
      expect(err.code).toBe('E_CONFIG');
      expect(err.message).toContain(`wirePrecision = ${String(bad)}: expected 32 or 64`);
    }
  });

  it('names every algorithm once, and each brings its own strategy', () => {
    expect(ALGO_NAMES).toEqual(['soda', 'dave-pg', 'sync-pg']);
    const run = new RunState(config());
    expect(ALGORITHMS.soda.strategy(run)).toBeInstanceOf(AsyncApply);
    expect(ALGORITHMS['dave-pg'].strategy(run)).toBeInstanceOf(AsyncApply);
    expect(ALGORITHMS['sync-pg'].strategy(run)).toBeInstanceOf(SyncBarrier);
    expect([ALGORITHMS.soda.fixedP, ALGORITHMS['dave-pg'].fixedP, ALGORITHMS['sync-pg'].fixedP]).toEqual([
      null,
      1,
      1,
    ]);
  });
});
