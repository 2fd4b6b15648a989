import yargs from 'yargs';
import { isSodaError, SodaError } from '@soda/core';
import { dataCommand } from './commands/data';
import { exportCommand } from './commands/export';
import { masterCommand } from './commands/master';
import { predictCommand } from './commands/predict';
import { reportCommand } from './commands/report';
import { runCommand } from './commands/run';
import { solveCommand } from './commands/solve';
import { workerCommand } from './commands/worker';
import { collapseRepeated, type DeclaredOptions } from './repeated';

interface Introspectable {
  getOptions(): DeclaredOptions;
}

/** Every option the parsed command declares, with its aliases. */
function knownKeys(y: Introspectable): Set<string> {
  const o = y.getOptions();
  const keys = new Set(Object.keys(o.key));
  for (const [k, aliases] of Object.entries(o.alias)) {
    keys.add(k);
    for (const a of aliases) keys.add(a);
  }
  return keys;
}

/** Flags on the command line that no option of the command declares: a clear error, not a silent no-op. */
function rejectUnknownFlags(argv: readonly string[], known: Set<string>): void {
  const unknown: string[] = [];
  for (const tok of argv) {
    if (tok === '--') break;
    if (!tok.startsWith('--')) continue;
    const name = tok.slice(2).split('=')[0];
    const bare = name.startsWith('no-') ? name.slice(3) : name;
    if (!known.has(name) && !known.has(bare)) unknown.push(tok.split('=')[0]);
  }
  if (unknown.length > 0)
    throw new SodaError(
      'E_CONFIG',
      `unknown option${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')}; see --help`,
    );
}

/** Exit codes: see EXIT in exit-codes.ts (0 done, 1 failure, 2 bad input, 3 diverged, 4 budget, 5 output, 6 no workers). */
export async function main(argv: string[]): Promise<void> {
  try {
    const parser = yargs(argv);
    await parser
      .scriptName('soda')
      .usage(
        '$0 <command> [options]\n\nSODA: sparse asynchronous distributed learning of ℓ1+ℓ2 logistic regression.\n' +
          'Every option can also be set by an environment variable SODA_<OPTION> (e.g. SODA_WORKERS=20, SODA_P=0.1).',
      )
      .env('SODA')
      .command(runCommand)
      .command(masterCommand)
      .command(workerCommand)
      .command(solveCommand)
      .command(dataCommand)
      .command(reportCommand)
      .command(predictCommand)
      .command(exportCommand)
      .demandCommand(1, 'name a command: run, master, worker, solve, data, report, predict, export')
      .strictCommands()
      // Not .strict(): SODA_* variables shared by a master and its workers (compose files, `soda run`)
      // would then be unknown arguments to the commands that ignore them. Flags typed on the command
      // line are still checked, here.
      .middleware((parsed) => {
        const declared = parser as unknown as Introspectable;
        rejectUnknownFlags(argv, knownKeys(declared));
        collapseRepeated(parsed as Record<string, unknown>, argv, declared.getOptions());
      }, true)
      .recommendCommands()
      .wrap(Math.min(110, process.stdout.columns || 110))
      .fail((msg, err) => {
        if (err) throw err;
        process.stderr.write(`soda: ${msg}\nRun 'soda --help' (or 'soda <command> --help') for usage.\n`);
        process.exit(2);
      })
      .help()
      .parseAsync();
  } catch (e) {
    if (isSodaError(e)) {
      process.stderr.write(`soda: error ${e.code}: ${e.message}\n`);
      process.exitCode = 2;
      return;
    }
    process.stderr.write(`soda: unexpected failure: ${(e as Error).stack ?? String(e)}\n`);
    process.exitCode = 1;
  }
}
