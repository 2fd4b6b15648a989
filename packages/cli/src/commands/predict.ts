import type { Argv, CommandModule } from 'yargs';
import { loadModelFile, SodaError } from '@soda/core';
import { predictStream, type PredictionFormat } from '../predict';
import { rowsForModel } from '../predict/match';
import { rowFormatOptions } from '../rows';
import * as v from '../validate';

export const predictCommand: CommandModule<object, Record<string, unknown>> = {
  command: 'predict',
  describe:
    'predict with a trained model: one row per example (--out preds.csv|.jsonl), and accuracy, log-loss and ROC AUC as JSON when the data has labels',
  builder: (y: Argv) =>
    rowFormatOptions(
      y
        .option('model', {
          type: 'string',
          demandOption: true,
          describe: 'model file: model.json of a run, or the file of soda solve --out (version 1 or 2)',
        })
        .option('data', {
          type: 'string',
          demandOption: true,
          describe: 'LIBSVM or CSV file to predict on (raw, unscaled; labels optional)',
        })
        .option('out', {
          type: 'string',
          describe: 'write index, probability, label per example here (.csv or .jsonl), streaming',
        })
        .option('format', { choices: ['csv', 'jsonl'], describe: 'format of --out (default: from its name)' })
        .option('threshold', {
          type: 'number',
          default: 0.5,
          describe:
            'probability above which the predicted label is +1 (ties: −1, as LIBLINEAR and scikit-learn)',
        }),
    ) as unknown as Argv<Record<string, unknown>>,
  handler: async (a) => {
    const threshold = v.num('threshold', a.threshold);
    if (!(threshold >= 0 && threshold <= 1))
      throw new SodaError('E_CONFIG', `--threshold ${threshold}: expected a probability in [0, 1]`, {
        field: 'threshold',
        value: threshold,
      });
    const out = v.optionalString(a.out);
    let format = a.format as PredictionFormat | undefined;
    if (out !== undefined && format === undefined) {
      if (/\.csv$/i.test(out)) format = 'csv';
      else if (/\.(jsonl|ndjson)$/i.test(out)) format = 'jsonl';
      else
        throw new SodaError(
          'E_CONFIG',
          `--out ${out}: name it *.csv or *.jsonl, or give --format csv|jsonl`,
          {
            field: 'out',
            value: out,
          },
        );
    }
    const model = await loadModelFile(a.model as string);
    const data = a.data as string;
    const rows = rowsForModel(model, data, a);
    const s = await predictStream(model, rows, { threshold, file: data, ...(out ? { out, format } : {}) });
    const line = {
      model: a.model,
      data,
      m: s.m,
      labelled: s.labelled,
      threshold,
      predictedPositive: s.predictedPositive,
      ...(s.scores ? { accuracy: s.scores.accuracy, logLoss: s.scores.logLoss, auc: s.scores.auc } : {}),
      ...(out ? { out } : {}),
    };
    process.stdout.write(JSON.stringify(line) + '\n');
  },
};
