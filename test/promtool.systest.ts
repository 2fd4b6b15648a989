import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { Master } from '@soda/master';
import { Worker } from '@soda/worker';
import { masterConfig, memoryLogger, workerConfig } from './helpers/cluster';
import { plantedProblem } from './helpers/problems';

/*
 * A live /metrics, scraped during a run, passes `promtool check metrics` (Debian's prometheus
 * package: apt-get install prometheus; npm run test:promtool): Prometheus' own linter of names,
 * types, units and help texts.
 */

const PROMTOOL = '/usr/bin/promtool';

test('promtool check metrics is clean on a live /metrics', async () => {
  if (!existsSync(PROMTOOL))
    throw new Error(`${PROMTOOL} is missing: install it with apt-get install prometheus (or run .ci/run)`);
  const { logger } = memoryLogger();
  const master = await Master.start(
    masterConfig(plantedProblem(3, 300, 20), { logger, fstar: 0.5, tol: -1, maxEpochs: 1e9, workers: 2 }),
  );
  const workers = [0, 1].map(() => Worker.start(workerConfig(master.port)));
  let text = '';
  for (let i = 0; i < 200; i++) {
    text = await (await fetch(`http://127.0.0.1:${master.port}/metrics`)).text();
    const m = /^soda_updates_total (\d+)/m.exec(text);
    if (m && Number(m[1]) > 100) break;
    await new Promise((r) => setTimeout(r, 25));
  }
  await master.stop('test over');
  await Promise.all(workers.map((w) => w.done));
  expect(text).toMatch(/^soda_update_staleness_count [1-9]/m);
  // promtool exits 1 and prints each problem on a bad exposition; nothing on a clean one.
  const said = execFileSync(PROMTOOL, ['check', 'metrics'], { input: text, encoding: 'utf8' });
  expect(said).toBe('');
});
