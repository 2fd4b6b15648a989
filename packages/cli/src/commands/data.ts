import type { Argv, CommandModule } from 'yargs';
import { LibsvmWriter, SodaError, type RowSink } from '@soda/core';
import { datasetByName, generateMadelon, generateText } from '@soda/datasets';
import * as v from '../validate';

async function writeWith(out: string, build: (sink: RowSink) => Promise<object>): Promise<void> {
  const writer = LibsvmWriter.create(out);
  try {
    const info = await build(writer);
    await writer.close();
    process.stdout.write(JSON.stringify({ out, ...info }) + '\n');
  } catch (e) {
    await writer.abort();
    throw e;
  }
}

export const dataCommand: CommandModule<object, Record<string, unknown>> = {
  command: 'data <action> [kind]',
  describe: 'make datasets: `data gen madelon|text --out F`, `data spam --out F`',
  builder: (y: Argv) =>
    y
      .positional('action', {
        type: 'string',
        choices: ['gen', 'spam'],
        describe: 'gen: synthetic; spam: the real corpus',
      })
      .positional('kind', { type: 'string', choices: ['madelon', 'text'], describe: 'generator (with gen)' })
      .option('out', { type: 'string', demandOption: true, describe: 'output LIBSVM file (.gz: compressed)' })
      .option('like', {
        type: 'string',
        choices: ['rcv1', 'real-sim'],
        default: 'rcv1',
        describe: 'text: which paper set to imitate',
      })
      .option('rows', { type: 'number', describe: "number of rows (default: the original's)" })
      .option('seed', { type: 'number', default: 1, describe: 'random seed' })
      .example('$0 data gen madelon --out madelon.svm', '')
      .example('$0 data gen text --like rcv1 --rows 5000 --out rcv1-small.svm', '')
      .example('$0 data spam --out spam.svm', '') as unknown as Argv<Record<string, unknown>>,
  handler: async (a) => {
    const out = a.out as string;
    const seed = v.nonNegativeInt('seed', a.seed);
    const rows = a.rows === undefined ? undefined : v.positiveInt('rows', a.rows);
    if (a.action === 'spam') return writeWith(out, (sink) => datasetByName('spam').build(sink, seed));
    if (a.kind === 'madelon')
      return writeWith(out, (sink) => generateMadelon({ seed, ...(rows ? { rows } : {}) }, sink));
    if (a.kind === 'text')
      return writeWith(out, (sink) =>
        generateText({ like: a.like as 'rcv1' | 'real-sim', seed, ...(rows ? { rows } : {}) }, sink),
      );
    throw new SodaError('E_CONFIG', '`soda data gen` needs a generator: madelon or text');
  },
};
