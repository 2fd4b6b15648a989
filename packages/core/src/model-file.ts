import { promises as fs } from 'node:fs';
import { writeFileDurable } from './durable-write';
import { finiteNumber } from './checks';
import { SodaError } from './errors';
import type { SparseVector } from './sparse';

/** A trained model as written to disk: JSON, sparse weights, with what is needed to score new data. */
export interface ModelFile {
  readonly format: 'soda-model';
  readonly version: 1;
  readonly n: number;
  readonly lambda1: number;
  readonly lambda2: number;
  readonly dataName: string;
  readonly dataHash: string;
  readonly objective: number | null;
  readonly idx: number[];
  readonly val: number[];
  /** Max-abs column divisors applied to the training data (absent: none). */
  readonly scale?: number[];
}

export function modelFileOf(
  w: SparseVector,
  meta: Omit<ModelFile, 'format' | 'version' | 'n' | 'idx' | 'val'>,
): ModelFile {
  return {
    format: 'soda-model',
    version: 1,
    n: w.n,
    ...meta,
    idx: Array.from(w.idx),
    val: Array.from(w.val),
  };
}

/** Writes a model durably (see durable-write). */
export function writeModelFile(file: string, model: ModelFile): Promise<void> {
  return writeFileDurable(file, JSON.stringify(model), { code: 'E_MODEL_WRITE', what: 'model file' });
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

/** Validates a parsed model; `file` only names the source in errors. */
export function validateModelFile(data: unknown, file: string): ModelFile {
  if (typeof data !== 'object' || data === null || Array.isArray(data))
    throw new SodaError('E_MODEL', `${file}: a model file is a JSON object`, { file });
  const o = data as Obj;
  if (o.format !== 'soda-model') fail(file, 'format', o.format, '"soda-model"');
  if (o.version !== 1) fail(file, 'version', o.version, '1 (the only version this soda reads)');
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
  if (o.scale !== undefined) {
    const scale = checkArray(file, o, 'scale');
    if (scale.length !== n) fail(file, 'scale', `${scale.length} entries`, `${n} (one divisor per feature)`);
    for (let j = 0; j < scale.length; j++)
      if (!(isFiniteNumber(scale[j]) && (scale[j] as number) > 0))
        fail(file, `scale[${j}]`, scale[j], 'a positive finite divisor');
  }
  return o as unknown as ModelFile;
}

/** Reads and validates a model written by `soda run --model-out` / `soda master`. */
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
