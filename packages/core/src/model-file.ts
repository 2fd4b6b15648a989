import { promises as fs } from 'node:fs';
import { writeFileDurable } from './durable-write';
import { finiteNumber } from './checks';
import { SodaError } from './errors';
import { divisorAt } from './scale';
import type { SparseVector } from './sparse';

/*
 * A trained model as written to disk (JSON). Version 2 is usable without SODA: the weights are in the
 * original feature space (the max-abs divisors of training are folded in: coef_j = w_j / scale_j), so
 * a raw example x scores z = Σ_j coef_j x_j + intercept and P(y = +1 | x) = σ(z). λ1 and λ2 apply to
 * the scaled problem the model was trained on; they are kept for the record. Version 1 files (weights
 * in scaled space plus the divisors, no intercept) still load, converted to version 2 on reading.
 */
export interface ModelFile {
  readonly format: 'soda-model';
  readonly version: 2;
  /** Number of features (the intercept not counted). */
  readonly n: number;
  /** Sparse coefficients in the original feature space: feature idx[t] (0-based) has weight val[t]. */
  readonly idx: number[];
  readonly val: number[];
  readonly intercept: number;
  /** False when trained with --no-intercept (intercept is then 0). */
  readonly fitIntercept: boolean;
  readonly lambda1: number;
  readonly lambda2: number;
  readonly dataName: string;
  readonly dataHash: string;
  /** F(w) at the end of training, when it was evaluated there. */
  readonly objective: number | null;
  /** Figures of the training run or solve (m, nnz, certificate, reason, …), as flat JSON values. */
  readonly training?: Record<string, string | number | boolean | null>;
  /** Name of each feature (length n), when known (spam's terms). */
  readonly featureNames?: string[];
}

export interface ModelMeta {
  readonly lambda1: number;
  readonly lambda2: number;
  readonly dataName: string;
  readonly dataHash: string;
  readonly objective: number | null;
  /** With an intercept: w's coordinate unpenalizedFrom (< w.n, the last one) is the intercept column. */
  readonly unpenalizedFrom?: number;
  /**
   * Max-abs column divisors of the training data, folded into the weights: one per feature, or sparse
   * (divisorsFromMaxima: the divisors ≠ 1, a column without an entry divides by 1).
   */
  readonly scale?: ArrayLike<number> | SparseVector;
  readonly training?: Record<string, string | number | boolean | null>;
  readonly featureNames?: string[];
}

/** A model file from w as trained (scaled space; the scale is folded into the weights here). */
export function modelFileOf(w: SparseVector, meta: ModelMeta): ModelFile {
  const fitIntercept = meta.unpenalizedFrom !== undefined && meta.unpenalizedFrom < w.n;
  const n = fitIntercept ? (meta.unpenalizedFrom as number) : w.n;
  const idx: number[] = [];
  const val: number[] = [];
  let intercept = 0;
  const scale = meta.scale;
  const divisor =
    scale === undefined
      ? () => 1
      : 'idx' in scale
        ? (j: number) => divisorAt(scale, j)
        : (j: number) => scale[j];
  for (let t = 0; t < w.idx.length; t++) {
    const j = w.idx[t];
    if (j >= n) {
      if (j === n && fitIntercept) intercept = w.val[t];
      continue;
    }
    idx.push(j);
    val.push(scale ? w.val[t] / divisor(j) : w.val[t]);
  }
  if (meta.featureNames !== undefined && meta.featureNames.length !== n)
    throw new SodaError('E_MODEL', `${meta.featureNames.length} feature names for ${n} features`);
  return {
    format: 'soda-model',
    version: 2,
    n,
    idx,
    val,
    intercept,
    fitIntercept,
    lambda1: meta.lambda1,
    lambda2: meta.lambda2,
    dataName: meta.dataName,
    dataHash: meta.dataHash,
    objective: meta.objective,
    ...(meta.training ? { training: meta.training } : {}),
    ...(meta.featureNames ? { featureNames: meta.featureNames } : {}),
  };
}

/** Writes a model durably (see durable-write). */
export function writeModelFile(file: string, model: ModelFile): Promise<void> {
  return writeFileDurable(file, JSON.stringify(model), { code: 'E_MODEL_WRITE', what: 'model file' });
}

/** The model's weights as a dense vector of length max(n, cols) (features past n weigh 0). */
export function denseCoefficients(model: ModelFile, cols = model.n): Float64Array {
  const w = new Float64Array(Math.max(model.n, cols));
  for (let t = 0; t < model.idx.length; t++) w[model.idx[t]] = model.val[t];
  return w;
}

/*
 * A model file comes from disk, possibly hand-edited or from another version: check every field
 * before scoring with it, and say which field of which file is wrong.
 */

type Obj = Record<string, unknown>;

function fail(file: string, field: string, value: unknown, want: string): never {
  const shown = JSON.stringify(value);
  const short = shown === undefined ? 'missing' : shown.length > 60 ? `${shown.slice(0, 60)}…` : shown;
  throw new SodaError('E_MODEL', `${file}: field "${field}" is ${short}; expected ${want}`, {
    file,
    field,
  });
}

const isFiniteNumber = (v: unknown): v is number => finiteNumber(v) !== undefined;

function checkArray(file: string, o: Obj, field: string): unknown[] {
  const v = o[field];
  if (!Array.isArray(v)) fail(file, field, v, 'an array');
  return v;
}

/** The fields both versions share: n, λs, names, objective, sorted sparse idx/val. */
function checkCommon(file: string, o: Obj): { n: number; idx: number[]; val: number[] } {
  const n = o.n;
  if (!(Number.isSafeInteger(n) && (n as number) >= 1)) fail(file, 'n', n, 'a positive integer');
  for (const f of ['lambda1', 'lambda2'])
    if (!(isFiniteNumber(o[f]) && (o[f] as number) >= 0)) fail(file, f, o[f], 'a finite number ≥ 0');
  for (const f of ['dataName', 'dataHash']) if (typeof o[f] !== 'string') fail(file, f, o[f], 'a string');
  if (o.objective !== null && !isFiniteNumber(o.objective))
    fail(file, 'objective', o.objective, 'a finite number or null');
  const idx = checkArray(file, o, 'idx');
  const val = checkArray(file, o, 'val');
  if (val.length !== idx.length) fail(file, 'val', `${val.length} entries`, `${idx.length} (one per idx)`);
  let prev = -1;
  for (let t = 0; t < idx.length; t++) {
    const j = idx[t];
    if (!(Number.isSafeInteger(j) && (j as number) > prev && (j as number) < (n as number)))
      fail(file, `idx[${t}]`, j, `an integer in (${prev}, ${n}) (sorted, distinct, < n)`);
    prev = j as number;
    if (!isFiniteNumber(val[t])) fail(file, `val[${t}]`, val[t], 'a finite number');
  }
  return { n: n as number, idx: idx as number[], val: val as number[] };
}

/** Version 1: weights in scaled space plus the divisors; converted to version 2. */
function fromVersion1(file: string, o: Obj): ModelFile {
  const { n, idx, val } = checkCommon(file, o);
  let scale: number[] | undefined;
  if (o.scale !== undefined) {
    const s = checkArray(file, o, 'scale');
    if (s.length !== n) fail(file, 'scale', `${s.length} entries`, `${n} (one divisor per feature)`);
    for (let j = 0; j < s.length; j++)
      if (!(isFiniteNumber(s[j]) && (s[j] as number) > 0))
        fail(file, `scale[${j}]`, s[j], 'a positive finite divisor');
    scale = s as number[];
  }
  return modelFileOf(
    { n, idx: Uint32Array.from(idx), val: Float64Array.from(val) },
    {
      lambda1: o.lambda1 as number,
      lambda2: o.lambda2 as number,
      dataName: o.dataName as string,
      dataHash: o.dataHash as string,
      objective: o.objective as number | null,
      ...(scale ? { scale } : {}),
    },
  );
}

function fromVersion2(file: string, o: Obj): ModelFile {
  const { n } = checkCommon(file, o);
  if (!isFiniteNumber(o.intercept)) fail(file, 'intercept', o.intercept, 'a finite number');
  if (typeof o.fitIntercept !== 'boolean') fail(file, 'fitIntercept', o.fitIntercept, 'true or false');
  if (o.training !== undefined) {
    const t = o.training;
    if (typeof t !== 'object' || t === null || Array.isArray(t))
      fail(file, 'training', t, 'an object of figures');
    for (const [k, v] of Object.entries(t))
      if (v !== null && !['string', 'number', 'boolean'].includes(typeof v))
        fail(file, `training.${k}`, v, 'a string, number, boolean or null');
  }
  if (o.featureNames !== undefined) {
    const names = checkArray(file, o, 'featureNames');
    if (names.length !== n) fail(file, 'featureNames', `${names.length} names`, `${n} (one per feature)`);
    names.forEach((s, j) => {
      if (typeof s !== 'string') fail(file, `featureNames[${j}]`, s, 'a string');
    });
  }
  return o as unknown as ModelFile;
}

/** Validates a parsed model (version 1 or 2, returned as version 2); `file` only names the source. */
export function validateModelFile(data: unknown, file: string): ModelFile {
  if (typeof data !== 'object' || data === null || Array.isArray(data))
    throw new SodaError('E_MODEL', `${file}: a model file is a JSON object`, { file });
  const o = data as Obj;
  if (o.format !== 'soda-model') fail(file, 'format', o.format, '"soda-model"');
  if (o.version === 1) return fromVersion1(file, o);
  if (o.version === 2) return fromVersion2(file, o);
  return fail(file, 'version', o.version, '1 or 2 (the versions this soda reads)');
}

/** Reads and validates a model written by `soda run`, `soda master` or `soda solve --out`. */
export async function loadModelFile(file: string): Promise<ModelFile> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (e) {
    throw new SodaError('E_IO', `cannot read the model file ${file}: ${(e as Error).message}`, { file });
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new SodaError('E_MODEL', `${file}: not a JSON model file (${(e as Error).message})`, { file });
  }
  return validateModelFile(data, file);
}
