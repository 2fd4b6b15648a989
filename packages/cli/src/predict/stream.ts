import { createWriteStream, promises as fs, type WriteStream } from 'node:fs';
import { denseCoefficients, SodaError, type ModelFile, type RowBatch } from '@soda/core';
import { logit, marginsOf, type Scores, scoresOf, sigmoid } from './score';

/*
 * `soda predict` over a stream of row batches: each batch is scored and written out before the next
 * is read, so a file larger than memory works. Only the margins and labels of labelled data are kept
 * (16 bytes a row), for the ROC AUC; unlabelled data keeps nothing.
 */

export type PredictionFormat = 'csv' | 'jsonl';

export interface PredictOptions {
  /** Probability above which the predicted label is +1 (a tie is −1, as in LIBLINEAR and scikit-learn). */
  readonly threshold: number;
  /** One row per example (index, probability, label) is written here. */
  readonly out?: string;
  readonly format?: PredictionFormat;
  /** Names the data in messages. */
  readonly file: string;
}

export interface PredictSummary {
  readonly m: number;
  readonly labelled: boolean;
  readonly predictedPositive: number;
  /** Aggregate scores, only when the data has labels. */
  readonly scores: Scores | null;
}

/** csv for *.csv, jsonl for *.jsonl / *.ndjson; anything else must be named with --format. */
export function formatOfPath(file: string): PredictionFormat | undefined {
  if (/\.csv$/i.test(file)) return 'csv';
  if (/\.(jsonl|ndjson)$/i.test(file)) return 'jsonl';
  return undefined;
}

class Sink {
  private constructor(private readonly s: WriteStream) {}
  static async open(file: string): Promise<Sink> {
    const s = createWriteStream(file);
    await new Promise<void>((resolve, reject) => {
      s.once('open', () => resolve());
      s.once('error', (e) => reject(new SodaError('E_IO', `cannot write ${file}: ${e.message}`, { file })));
    });
    return new Sink(s);
  }
  /** Writes, waiting for the stream to drain when its buffer is full (backpressure). */
  async write(text: string): Promise<void> {
    if (!this.s.write(text)) await new Promise<void>((resolve) => this.s.once('drain', () => resolve()));
  }
  close(): Promise<void> {
    return new Promise((resolve, reject) => this.s.end((e?: Error | null) => (e ? reject(e) : resolve())));
  }
}

export async function predictStream(
  model: ModelFile,
  batches: AsyncIterable<RowBatch>,
  opts: PredictOptions,
): Promise<PredictSummary> {
  const coef = denseCoefficients(model);
  const format = opts.format ?? (opts.out !== undefined ? formatOfPath(opts.out) : undefined) ?? 'csv';
  const sink = opts.out !== undefined ? await Sink.open(opts.out) : undefined;
  if (sink && format === 'csv') await sink.write('index,probability,label\n');
  const zs: Float64Array[] = [];
  const ys: Float64Array[] = [];
  let m = 0;
  let labelled: boolean | undefined;
  let predictedPositive = 0;
  const cut = logit(opts.threshold);
  try {
    for await (const b of batches) {
      const z = marginsOf(model, b.X, coef, b.firstRow, opts.file);
      const hasLabels = b.y.length > 0 && !Number.isNaN(b.y[0]);
      if (labelled !== undefined && labelled !== hasLabels)
        throw new SodaError('E_DATA', `${opts.file}: some rows have labels and some do not`);
      labelled = hasLabels;
      if (hasLabels) {
        zs.push(z);
        ys.push(b.y);
      }
      let text = '';
      for (let i = 0; i < z.length; i++) {
        const p = sigmoid(z[i]);
        const label = z[i] > cut ? 1 : -1;
        if (label === 1) predictedPositive++;
        if (sink)
          text +=
            format === 'csv'
              ? `${b.firstRow + i},${p},${label}\n`
              : `{"index":${b.firstRow + i},"probability":${p},"label":${label}}\n`;
      }
      if (sink) await sink.write(text);
      m += z.length;
    }
    await sink?.close();
  } catch (e) {
    await sink?.close().catch(() => undefined);
    if (opts.out !== undefined) await fs.rm(opts.out, { force: true });
    throw e;
  }
  if (m === 0) throw new SodaError('E_DATA', `${opts.file}: no rows to predict on`);
  return {
    m,
    labelled: labelled === true,
    predictedPositive,
    scores: labelled ? scoresOf(concat(zs, m), concat(ys, m), opts.threshold) : null,
  };
}

function concat(parts: Float64Array[], m: number): Float64Array {
  const out = new Float64Array(m);
  let k = 0;
  for (const p of parts) {
    out.set(p, k);
    k += p.length;
  }
  return out;
}
