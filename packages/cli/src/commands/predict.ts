import type { Argv, CommandModule } from 'yargs';
import { readLibsvm } from '@soda/core';

export const predictCommand: CommandModule<object, Record<string, unknown>> = {
  command: 'predict',
  describe: 'score a LIBSVM dataset with a trained model: accuracy, log-loss and ROC AUC as JSON',
  builder: (y: Argv) =>
    y
      .option('model', { type: 'string', demandOption: true, describe: 'model.json written by a run' })
      .option('data', {
        type: 'string',
        demandOption: true,
        describe: 'LIBSVM file to score (raw, unscaled)',
      }) as unknown as Argv<Record<string, unknown>>,
  handler: async (a) => {
    const { loadModelFile, scoreModel } = await import('../predict');
    const model = await loadModelFile(a.model as string);
    const ds = await readLibsvm(a.data as string);
    process.stdout.write(JSON.stringify({ model: a.model, data: a.data, ...scoreModel(model, ds) }) + '\n');
  },
};
