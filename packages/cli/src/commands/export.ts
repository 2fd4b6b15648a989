import type { Argv, CommandModule } from 'yargs';
import { liblinearOf, loadModelFile, onnxOf, sklearnOf, writeFileDurable } from '@soda/core';
import * as v from '../validate';

const FORMATS = ['liblinear', 'onnx', 'sklearn'] as const;
type Format = (typeof FORMATS)[number];

/** The bytes of each export; every one holds the raw-space weights and the intercept (see core/export). */
function render(format: Format, model: Awaited<ReturnType<typeof loadModelFile>>): Buffer | string {
  if (format === 'liblinear') return liblinearOf(model);
  if (format === 'onnx') return onnxOf(model, process.env.npm_package_version ?? '');
  return JSON.stringify(sklearnOf(model), null, 1) + '\n';
}

export const exportCommand: CommandModule<object, Record<string, unknown>> = {
  command: 'export',
  describe: "write a model in another tool's format: LIBLINEAR model file, ONNX graph, scikit-learn JSON",
  builder: (y: Argv) =>
    y
      .option('model', { type: 'string', demandOption: true, describe: 'model file (version 1 or 2)' })
      .option('format', { choices: FORMATS, demandOption: true, describe: 'liblinear, onnx or sklearn' })
      .option('out', { type: 'string', demandOption: true, describe: 'file to write' })
      .example('$0 export --model out/model.json --format liblinear --out spam.liblinear', '')
      .example('$0 export --model out/model.json --format onnx --out spam.onnx', '')
      .example(
        '$0 export --model out/model.json --format sklearn --out spam.sklearn.json',
        '',
      ) as unknown as Argv<Record<string, unknown>>,
  handler: async (a) => {
    const format: Format = v.oneOf('format', a.format, FORMATS);
    const model = await loadModelFile(a.model as string);
    const out = a.out as string;
    await writeFileDurable(out, render(format, model), { what: `${format} export` });
    process.stdout.write(
      JSON.stringify({
        model: a.model,
        format,
        out,
        n: model.n,
        nnz: model.idx.length,
        intercept: model.intercept,
      }) + '\n',
    );
  },
};
