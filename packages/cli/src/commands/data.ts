import type { Argv, CommandModule } from 'yargs';
import {
  dataFormatOf,
  LibsvmWriter,
  SodaError,
  splitCsv,
  splitLibsvm,
  writeFileDurable,
  type RowSink,
} from '@soda/core';
import { dataFileOptions, rowFormatOptions } from '../rows';
import * as v from '../validate';

/** Writes the data, then one JSON line; a vocabulary (spam's terms) goes to `vocab`, one term a line. */
async function writeWith(
  out: string,
  build: (sink: RowSink) => Promise<object>,
  vocab?: string,
): Promise<void> {
  const writer = LibsvmWriter.create(out);
  try {
    const { terms, ...info } = (await build(writer)) as { terms?: readonly string[] };
    await writer.close();
    if (vocab !== undefined && terms) await writeFileDurable(vocab, terms.join('\n') + '\n');
    const summary = { out, ...info, ...(terms ? { terms: terms.length, vocab: vocab ?? null } : {}) };
    process.stdout.write(JSON.stringify(summary) + '\n');
  } catch (e) {
    await writer.abort();
    throw e;
  }
}

export const dataCommand: CommandModule<object, Record<string, unknown>> = {
  command: 'data <action> [kind]',
  describe:
    'make datasets: `data gen madelon|text --out F`, `data spam --out F`, `data split FILE --parts M --out-dir D`',
  builder: (y: Argv) =>
    rowFormatOptions(y)
      .positional('action', {
        type: 'string',
        choices: ['gen', 'spam', 'split'],
        describe: 'gen: synthetic; spam: the real corpus; split: cut a LIBSVM or CSV file into part files',
      })
      .positional('kind', {
        type: 'string',
        describe: 'gen: the generator (madelon, text); split: the input file',
      })
      .option('out', { type: 'string', describe: 'output LIBSVM file (.gz: compressed)' })
      .option('parts', { type: 'number', describe: 'split: number of parts M (one per worker)' })
      .option('out-dir', {
        type: 'string',
        describe: 'split: folder for part-00000.svm (.csv for a CSV input) … and manifest.json',
      })
      .option('shuffle', {
        type: 'boolean',
        default: true,
        describe: "split: the master's seeded random partition (--no-shuffle: contiguous blocks)",
      })
      .option('gzip', { type: 'boolean', describe: 'split: gzip the parts (default: when the input is .gz)' })
      .option('like', {
        type: 'string',
        choices: ['rcv1', 'real-sim'],
        default: 'rcv1',
        describe: 'text: which paper set to imitate',
      })
      .option('rows', { type: 'number', describe: "number of rows (default: the original's)" })
      .option('features', {
        type: 'number',
        describe:
          "text: number of features n (default: the original's); the word frequencies stay Zipf over all n, so a larger n adds rare words (10⁷: a text set at scale, bench:scale)",
      })
      .option('seed', { type: 'number', default: 1, describe: 'random seed' })
      .option('original', {
        type: 'boolean',
        default: false,
        describe:
          "madelon: Guyon's original coding (values around 480) instead of the centred problem --dataset madelon trains on",
      })
      .option('vocab', {
        type: 'string',
        describe: 'spam: write the terms here, one a line (line j names feature j)',
      })
      .example('$0 data gen madelon --out madelon.svm', '')
      .example('$0 data gen text --like rcv1 --rows 5000 --out rcv1-small.svm', '')
      .example('$0 data gen text --rows 100000 --features 10000000 --out text-1e7.svm', 'n = 10⁷')
      .example('$0 data spam --out spam.svm --vocab spam.terms.txt', '')
      .example(
        '$0 data split spam.svm --parts 20 --out-dir shards',
        'shards/part-00000.svm … + manifest.json',
      ) as unknown as Argv<Record<string, unknown>>,
  handler: async (a) => {
    // loaded here, not at start-up: every `soda` process (a worker too) would otherwise pay for it
    const { datasetByName, generateMadelon, generateText } = await import('@soda/datasets');
    const seed = v.nonNegativeInt('seed', a.seed);
    if (a.action === 'split') {
      if (typeof a.kind !== 'string' || a.kind === '')
        throw new SodaError(
          'E_CONFIG',
          '`soda data split` needs the input file: soda data split FILE --parts M --out-dir DIR',
        );
      if (a.parts === undefined) throw new SodaError('E_CONFIG', '`soda data split` needs --parts M');
      if (typeof a.outDir !== 'string' || a.outDir === '')
        throw new SodaError('E_CONFIG', '`soda data split` needs --out-dir DIR');
      const { format, maxFeatures, ...csv } = dataFileOptions(a);
      const opts = {
        parts: v.positiveInt('parts', a.parts),
        outDir: a.outDir,
        shuffle: a.shuffle !== false,
        seed,
        ...(typeof a.gzip === 'boolean' ? { gzip: a.gzip } : {}),
        ...(maxFeatures !== undefined ? { maxFeatures } : {}),
      };
      // CSV parts keep the header (part-00000.csv …); LIBSVM parts as before
      const manifest =
        dataFormatOf(a.kind, format) === 'csv'
          ? await splitCsv(a.kind, {
              ...opts,
              csv: /\.tsv(\.gz)?$/i.test(a.kind) ? { ...csv, delimiter: '\t' } : csv,
            })
          : await splitLibsvm(a.kind, opts);
      const { parts, ...summary } = manifest;
      process.stdout.write(JSON.stringify({ outDir: a.outDir, ...summary, parts: parts.length }) + '\n');
      return;
    }
    if (typeof a.out !== 'string' || a.out === '')
      throw new SodaError('E_CONFIG', `\`soda data ${String(a.action)}\` needs --out FILE`);
    const out = a.out;
    const rows = a.rows === undefined ? undefined : v.positiveInt('rows', a.rows);
    if (a.action === 'spam')
      return writeWith(out, (sink) => datasetByName('spam').build(sink, seed), v.optionalString(a.vocab));
    // Without --original: exactly what --dataset madelon trains on (the registry's centred coding).
    if (a.kind === 'madelon')
      return writeWith(out, (sink) =>
        a.original === true
          ? generateMadelon({ seed, ...(rows ? { rows } : {}) }, sink)
          : rows === undefined
            ? datasetByName('madelon').build(sink, seed)
            : generateMadelon({ seed, rows, offset: 0 }, sink),
      );
    if (a.kind === 'text')
      return writeWith(out, (sink) =>
        generateText(
          {
            like: a.like as 'rcv1' | 'real-sim',
            seed,
            ...(rows ? { rows } : {}),
            ...(a.features !== undefined ? { profile: { cols: v.positiveInt('features', a.features) } } : {}),
          },
          sink,
        ),
      );
    throw new SodaError(
      'E_CONFIG',
      `\`soda data gen\` needs a generator: madelon or text, got ${String(a.kind)}`,
    );
  },
};
