import { SodaError } from './errors';
import { COLON, HASH, NL, parseIndex, parseNumber, skipSpace, text, tokenEnd } from './libsvm-tokens';
import type { CsrMatrix } from './matrix';

/**
 * Incremental LIBSVM/svmlight parser: fed raw Buffer chunks, it splits lines itself and parses
 * bytes in place, so a file of hundreds of MB is never held as one string. Rows accumulate in
 * typed arrays grown by doubling (amortised O(1) per non-zero, at most 2× slack until `finish`).
 *
 * Line grammar: `label [qid:x] idx:val idx:val ... [# comment]`, 1-based strictly increasing indices.
 * Explicit zero values are accepted and dropped (they carry no information and would inflate supports).
 */

/**
 * Largest 1-based index anything can carry: n ≤ 2³² − 1 is the protocol's limit (assign.n is a
 * uint32), so the parser refuses more than that whatever --max-features says.
 */
export const MAX_INDEX = 0xffffffff;

/**
 * Default cap on feature indices (2²⁴ ≈ 16.8 M). The master keeps several dense vectors of length n,
 * so an index is memory: `1 1000000000:1` alone would ask for gigabytes. The paper's sets have
 * n ≤ 50 k; raise it with --max-features for wider data.
 */
export const DEFAULT_MAX_FEATURES = 2 ** 24;

const MAX_LINE_BYTES = 2 ** 30;

/** Label codes −1, 0, 1, 2 live at bit (label + 1); a file's labels must fit one of these families. */
const FAMILY_PM1 = 0b0101; // {−1, +1}
const FAMILY_01 = 0b0110; // {0, 1}
const FAMILY_12 = 0b1100; // {1, 2}
const FAMILIES = 'one of {-1,+1}, {0,1} or {1,2}';
/** Raw label code of a row without a label (allowed only with `allowUnlabelled`); y is NaN there. */
const NO_LABEL = 3;

export interface ParsedRows {
  readonly X: CsrMatrix;
  readonly y: Float64Array;
}

/** Called once per example in streaming mode: the raw label (−1, 0, 1 or 2) and views valid during the call. */
export type RowCallback = (label: number, ind: Uint32Array, val: Float64Array) => void;

/** What a streaming parse saw: counts, the dimension, and which raw label is the positive class. */
export interface StreamSummary {
  readonly rows: number;
  readonly n: number;
  readonly nnz: number;
  /** raw label that maps to +1 (1 for {−1,+1} and {0,1}; 2 for {1,2}) */
  readonly positiveLabel: number;
}

/** How a parser reads: limits, and whether rows are kept or streamed. */
export interface ParserOptions {
  /** largest 1-based feature index accepted (default DEFAULT_MAX_FEATURES) */
  readonly maxFeatures?: number;
  /** streaming mode: rows go to this callback and are not kept (memory O(longest row)) */
  readonly onRow?: RowCallback;
  /** lines may carry no label (data to predict on) */
  readonly allowUnlabelled?: boolean;
}

export class LibsvmParser {
  private readonly maxFeatures: number;
  private readonly onRow?: RowCallback;
  private readonly allowUnlabelled: boolean;
  private line = 0;
  private totalNnz = 0;
  private current = 0;
  /** The unfinished last line, as the chunk pieces it spans (joined once its newline arrives). */
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private rows = 0;
  private nnz = 0;
  private maxIndex = 0;
  private ptr = new Float64Array(1024);
  private ind = new Uint32Array(4096);
  private val = new Float64Array(4096);
  private labels = new Int8Array(1024);
  private labelMask = 0;
  private readonly firstLineOfLabel = [0, 0, 0, 0];
  private firstUnlabelledLine = 0;
  private drainedRows = 0;
  /** Label family of rows already handed out by drain(): a later label must not change its meaning. */
  private drainedFamily = 0;

  /**
   * `file` is only used in messages; `declaredN` (when given) bounds every index; so does
   * `maxFeatures`, checked as each index is read, so a huge index fails before anything is sized by it.
   * With `allowUnlabelled`, a line may start with its first `index:value` (data to predict on): then
   * every line must, and its y is NaN. With `onRow`, rows go to the callback and are not kept.
   */
  constructor(
    private readonly file: string,
    private readonly declaredN?: number,
    opts: ParserOptions = {},
  ) {
    this.maxFeatures = opts.maxFeatures ?? DEFAULT_MAX_FEATURES;
    this.onRow = opts.onRow;
    this.allowUnlabelled = opts.allowUnlabelled ?? false;
  }

  /** Rows of labelled lines so far have their labels; those of unlabelled files have none. */
  get labelled(): boolean {
    return this.firstUnlabelledLine === 0;
  }

  /**
   * The rows parsed so far (labels mapped with the family seen so far, NaN when unlabelled), and
   * empty buffers for the next ones: `soda predict` streams a file larger than memory this way. The
   * last line is parsed only by finish(). A {1,2} file whose first drained rows held only 1s fails
   * (file:line) when a 2 appears, since those rows were already read as +1.
   */
  drain(): ParsedRows {
    this.checkDrainedFamily();
    this.drainedRows += this.rows;
    const X: CsrMatrix = {
      rows: this.rows,
      cols: this.maxIndex,
      ptr: this.ptr.slice(0, this.rows + 1),
      ind: this.ind.slice(0, this.nnz),
      val: this.val.slice(0, this.nnz),
    };
    const y = mapLabels(this.labels, this.rows, this.labelMask);
    this.rows = 0;
    this.nnz = 0;
    this.ptr[0] = 0;
    return { X, y };
  }

  private checkDrainedFamily(): void {
    const family = familyOf(this.labelMask);
    const was = this.drainedFamily;
    if (was !== 0 && family !== was && (family === FAMILY_12 || was === FAMILY_12))
      this.fail('label 2 after rows whose label 1 was already read as +1: give labels as {-1,+1} or {0,1}');
    if (this.rows > 0 && this.labelMask !== 0) this.drainedFamily = family;
  }

  /** Rows parsed and not yet drained. */
  get pendingRows(): number {
    return this.rows;
  }

  /** The number of the last line read (1-based). */
  get lineNumber(): number {
    return this.line;
  }

  push(chunk: Buffer): void {
    let start = 0;
    let nl = chunk.indexOf(NL);
    if (this.pending.length > 0) {
      if (nl < 0) {
        this.hold(chunk);
        return;
      }
      this.pending.push(chunk.subarray(0, nl));
      const joined = Buffer.concat(this.pending);
      this.pending = [];
      this.pendingBytes = 0;
      this.parseLine(joined, 0, joined.length);
      start = nl + 1;
      nl = chunk.indexOf(NL, start);
    }
    while (nl >= 0) {
      this.parseLine(chunk, start, nl);
      start = nl + 1;
      nl = chunk.indexOf(NL, start);
    }
    if (start < chunk.length) this.hold(chunk.subarray(start));
  }

  /** Keeps a piece of the unfinished line; a "line" of gigabytes means this is not a LIBSVM file. */
  private hold(piece: Buffer): void {
    this.pending.push(piece);
    this.pendingBytes += piece.length;
    if (this.pendingBytes > MAX_LINE_BYTES) {
      this.line++;
      this.fail(`line longer than ${MAX_LINE_BYTES / 2 ** 20} MiB without a newline; is this a LIBSVM file?`);
    }
  }

  /** Parses a last line without a newline; a file without any example is refused. */
  private endOfInput(): void {
    if (this.pending.length > 0) {
      const joined = Buffer.concat(this.pending);
      this.pending = [];
      this.parseLine(joined, 0, joined.length);
    }
    if (this.drainedRows > 0) this.checkDrainedFamily();
    if (this.rows === 0 && this.drainedRows === 0)
      throw new SodaError(
        'E_DATA_PARSE',
        `${this.file}: no examples (the file is empty or has only comments)`,
        { file: this.file, line: this.line },
      );
  }

  /** The rows, labels mapped to ±1. */
  finish(): ParsedRows & { n: number } {
    this.endOfInput();
    const n = this.declaredN ?? this.maxIndex;
    const y = mapLabels(this.labels, this.rows, this.labelMask);
    // Trim the doubling slack so the caller holds exactly nnz entries; one array at a time, each
    // grown buffer released before the next copy, so the peak is one array's slack, not three.
    this.ptr = this.ptr.slice(0, this.rows + 1);
    this.ind = this.ind.slice(0, this.nnz);
    this.val = this.val.slice(0, this.nnz);
    const X: CsrMatrix = { rows: this.rows, cols: n, ptr: this.ptr, ind: this.ind, val: this.val };
    return { X, y, n };
  }

  /** End of a streaming parse (constructed with onRow): what was seen, nothing kept. */
  finishStream(): StreamSummary {
    this.endOfInput();
    return {
      rows: this.rows,
      n: this.declaredN ?? this.maxIndex,
      nnz: this.totalNnz,
      positiveLabel: positiveLabelOf(this.labelMask),
    };
  }

  private fail(what: string): never {
    throw new SodaError('E_DATA_PARSE', `${this.file}:${this.line}: ${what}`, {
      file: this.file,
      line: this.line,
    });
  }

  private parseLine(buf: Buffer, start: number, end: number): void {
    this.line++;
    let pos = start;
    // A UTF-8 byte-order mark would otherwise make the first label unreadable.
    if (
      this.line === 1 &&
      end - pos >= 3 &&
      buf[pos] === 0xef &&
      buf[pos + 1] === 0xbb &&
      buf[pos + 2] === 0xbf
    )
      pos += 3;
    pos = skipSpace(buf, pos, end);
    if (pos >= end || buf[pos] === HASH) return; // blank or comment-only line
    let tokEnd = tokenEnd(buf, pos, end);
    let featuresFrom = tokEnd;
    if (this.allowUnlabelled && buf.subarray(pos, tokEnd).includes(COLON)) {
      this.pushUnlabelled();
      featuresFrom = pos;
    } else this.pushLabel(this.parseLabel(buf, pos, tokEnd));

    let prev = 0; // last 1-based index on this line
    for (
      pos = skipSpace(buf, featuresFrom, end);
      pos < end && buf[pos] !== HASH;
      pos = skipSpace(buf, tokEnd, end)
    ) {
      tokEnd = tokenEnd(buf, pos, end);
      let colon = pos;
      while (colon < tokEnd && buf[colon] !== COLON) colon++;
      if (colon === tokEnd) this.fail(`expected "index:value", got "${text(buf, pos, tokEnd)}"`);
      if (colon - pos === 3 && text(buf, pos, colon) === 'qid') continue; // query ids are for ranking; ignored
      const index = parseIndex(buf, pos, colon);
      if (index < 1)
        this.fail(`index ${text(buf, pos, colon)} is not a positive integer (indices are 1-based)`);
      if (index > MAX_INDEX)
        this.fail(
          `index ${text(buf, pos, colon)} exceeds the largest index the protocol can carry (2^32 - 1 = ${MAX_INDEX})`,
        );
      if (index > this.maxFeatures)
        this.fail(
          `index ${index} exceeds the feature limit ${this.maxFeatures} (raise it with --max-features if the data really is that wide)`,
        );
      if (index <= prev) this.fail(`indices not strictly increasing (${index} after ${prev})`);
      if (this.declaredN !== undefined && index > this.declaredN)
        this.fail(`index ${index} exceeds the declared dimension n = ${this.declaredN}`);
      prev = index;
      const v = parseNumber(buf, colon + 1, tokEnd);
      if (Number.isNaN(v))
        this.fail(`value "${text(buf, colon + 1, tokEnd)}" of feature ${index} is not a number`);
      if (!Number.isFinite(v))
        this.fail(`value "${text(buf, colon + 1, tokEnd)}" of feature ${index} is not finite`);
      if (index > this.maxIndex) this.maxIndex = index;
      if (v !== 0) this.pushEntry(index - 1, v);
    }
    this.endRow();
  }

  private parseLabel(buf: Buffer, start: number, end: number): number {
    const v = parseNumber(buf, start, end);
    if (Number.isNaN(v)) this.fail(`label "${text(buf, start, end)}" is not a number`);
    if (v !== -1 && v !== 0 && v !== 1 && v !== 2)
      this.fail(
        `label ${text(buf, start, end)} is not one of -1, +1, 0, 1, 2 (binary labels must be ${FAMILIES})`,
      );
    return v;
  }

  private pushUnlabelled(): void {
    if (this.labelMask !== 0)
      this.fail(`a line without a label, after labelled lines (from line ${this.firstLabelledLine()})`);
    if (this.firstUnlabelledLine === 0) this.firstUnlabelledLine = this.line;
    this.storeLabel(NO_LABEL);
  }

  private firstLabelledLine(): number {
    return Math.min(...this.firstLineOfLabel.filter((l) => l > 0));
  }

  /** Records a label and checks, as soon as a new value appears, that the set still fits one family. */
  private pushLabel(label: number): void {
    if (this.firstUnlabelledLine !== 0)
      this.fail(`a labelled line, after lines without a label (from line ${this.firstUnlabelledLine})`);
    const bit = 1 << (label + 1);
    if ((this.labelMask & bit) === 0) {
      const mask = this.labelMask | bit;
      if ((mask & ~FAMILY_PM1) !== 0 && (mask & ~FAMILY_01) !== 0 && (mask & ~FAMILY_12) !== 0) {
        const seen = [-1, 0, 1, 2].filter((l) => (this.labelMask & (1 << (l + 1))) !== 0);
        const where = seen.map((l) => `${l} (line ${this.firstLineOfLabel[l + 1]})`).join(', ');
        this.fail(`label ${label} cannot be mixed with label(s) ${where}: the labels must be ${FAMILIES}`);
      }
      this.labelMask = mask;
      this.firstLineOfLabel[label + 1] = this.line;
    }
    this.storeLabel(label);
  }

  private storeLabel(label: number): void {
    this.current = label;
    if (this.onRow) return;
    if (this.rows === this.labels.length) {
      const labels = new Int8Array(this.labels.length * 2);
      labels.set(this.labels);
      this.labels = labels;
    }
    this.labels[this.rows] = label;
  }

  private pushEntry(j: number, v: number): void {
    if (this.nnz === this.ind.length) {
      const ind = new Uint32Array(this.ind.length * 2);
      ind.set(this.ind);
      this.ind = ind;
      const val = new Float64Array(this.val.length * 2);
      val.set(this.val);
      this.val = val;
    }
    this.ind[this.nnz] = j;
    this.val[this.nnz++] = v;
  }

  private endRow(): void {
    if (this.onRow) {
      this.onRow(this.current, this.ind.subarray(0, this.nnz), this.val.subarray(0, this.nnz));
      this.totalNnz += this.nnz;
      this.nnz = 0;
      this.rows++;
      return;
    }
    this.rows++;
    if (this.rows === this.ptr.length) {
      const ptr = new Float64Array(this.ptr.length * 2);
      ptr.set(this.ptr);
      this.ptr = ptr;
    }
    this.ptr[this.rows] = this.nnz;
  }
}

/** {−1,+1} is kept as is; {0,1} maps 0 → −1; {1,2} maps 1 → −1, 2 → +1. All-1 files are +1. */
function mapLabels(raw: Int8Array, rows: number, mask: number): Float64Array {
  const y = new Float64Array(rows);
  const positive = positiveLabelOf(mask);
  for (let i = 0; i < rows; i++) y[i] = raw[i] === NO_LABEL ? NaN : raw[i] === positive ? 1 : -1;
  return y;
}

function familyOf(mask: number): number {
  return (mask & ~FAMILY_PM1) === 0 ? FAMILY_PM1 : (mask & ~FAMILY_01) === 0 ? FAMILY_01 : FAMILY_12;
}

/** The raw label of the positive class for the labels seen (bit label+1 set in mask). */
function positiveLabelOf(mask: number): number {
  return familyOf(mask) === FAMILY_12 ? 2 : 1;
}
