import yargs from 'yargs';
import { isSodaError } from '@soda/core';
import { dataCommand } from './commands/data';
import { masterCommand } from './commands/master';
import { runCommand } from './commands/run';
import { solveCommand } from './commands/solve';
import { workerCommand } from './commands/worker';

/** Exit codes: 0 done, 1 unexpected failure, 2 bad configuration or input, 3 the run diverged. */
export async function main(argv: string[]): Promise<void> {
  try {
    await yargs(argv)
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
      .demandCommand(1, 'name a command: run, master, worker, solve, data')
      .strict()
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
