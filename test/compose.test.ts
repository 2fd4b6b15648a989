import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';

/*
 * Every option of `soda master` and `soda worker` reaches the containers: docker-compose.yml lists
 * each as SODA_<OPTION> under its service (bare keys pass a shell or .env value through when set).
 * And the image sets no SODA_* default, so no training default leaks into report, solve or data.
 */

const ROOT = path.resolve(__dirname, '..');
const BIN = path.join(ROOT, 'packages', 'cli', 'bin', 'soda.js');
const compose = readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8');

/** Option names of a command, from its --help (yargs prints `  --name` or `  -x, --name`). */
function options(cmd: string): string[] {
  const help = spawnSync(process.execPath, [BIN, cmd, '--help'], { encoding: 'utf8' }).stdout;
  return Array.from(help.matchAll(/^ +(?:-\w, )?--([a-z0-9-]+)/gm), (m) => m[1]).filter(
    (o) => o !== 'help' && o !== 'version',
  );
}

/** The SODA_* keys of a service's environment block in docker-compose.yml. */
function environment(service: string): Set<string> {
  const block = new RegExp(`^  ${service}:\\n([\\s\\S]*?)(?=^  \\S|^\\S)`, 'm').exec(compose)![1];
  const env = /^ {4}environment:\n((?:^ {6}.*\n)+)/m.exec(block)![1];
  return new Set(Array.from(env.matchAll(/^ {6}(SODA_[A-Z0-9_]+):/gm), (m) => m[1]));
}

const envName = (o: string) => `SODA_${o.toUpperCase().replace(/-/g, '_')}`;

test.each(['master', 'worker'])('every option of soda %s is passed to its container', (service) => {
  const opts = options(service);
  expect(opts.length).toBeGreaterThan(service === 'master' ? 30 : 5);
  if (service === 'master')
    expect(opts).toEqual(expect.arrayContaining(['test-fraction', 'resume', 'tls-cert']));
  const env = environment(service);
  const missing = opts.map(envName).filter((k) => !env.has(k));
  expect(missing).toEqual([]);
});

test('the image sets no SODA_* variable; its working folder /data makes out/ land in the volume', () => {
  const dockerfile = readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
  expect(dockerfile).not.toMatch(/^\s*(ENV|ARG)\b[^\n]*SODA_/m);
  expect(dockerfile).toMatch(/^WORKDIR \/data$/m);
  expect(dockerfile).toMatch(/^ARG NODE_IMAGE=node:24-bookworm-slim$/m);
});
