/*
 * @soda/core's public surface, named one by one: no `export *`. Besides keeping internals internal,
 * this is for speed: tsc compiles `export *` into one shared getter (`m[k]`) for every name, a
 * megamorphic load that V8 cannot inline, and it cost ≈ 9 % of the master's CPU per update in a hot
 * loop (`npm run bench:master`); a named re-export gets a getter of its own, which V8 inlines.
 */
export { SodaError, assertNever, isSodaError } from './errors';
export { finiteNumber, inBounds, intervalText, type Bounds } from './checks';
export { CompensatedSum } from './compensated';
export {
  emptySparse,
  gallop,
  densePositionsFit,
  positionIndex,
  lowerBound,
  sparseFromDense,
  sparseToDense,
  sparseViolation,
  type SparseVector,
} from './sparse';
export {
  csrFromDense,
  csrToCsc,
  csrToDense,
  nnz,
  selectExamples,
  selectRows,
  type CscMatrix,
  type CsrMatrix,
  type Dataset,
} from './matrix';
export { Rng } from './rng';
export {
  DEFAULT_MAX_FEATURES,
  LibsvmWriter,
  MAX_INDEX,
  contentHash,
  forEachChunk,
  readChunks,
  readLibsvm,
  startsWithGzipMagic,
  streamLibsvm,
  writeLibsvm,
  type LibsvmData,
  type ReadLibsvmOptions,
  type RowBatch,
  type RowSink,
} from './libsvm';
export {
  applyScale,
  columnMaxAbs,
  columnMaxAbsSparse,
  combineColumnMaxima,
  divisorAt,
  divisorsFromMaxima,
  maxAbsScale,
  type ScaleOptions,
} from './scale';
export { shardContiguous, shardDataset, shardShuffled, shardWeights } from './shard';
export {
  compositeObjective,
  correctFromMargins,
  countNonZeros,
  gradientCsr,
  gradientOnCoords,
  l1Penalty,
  l1PenaltySparse,
  l1Weight,
  logLoss,
  logLossDeriv,
  logLossSecond,
  lossFromMargins,
  lossResiduals,
  marginsCsc,
  marginsCscInt32,
  marginsCsr,
  proxCoordinate,
  proxL1,
  sigmoid,
  smoothObjective,
  smoothValueGrad,
  softThreshold,
  squaredNorm,
  suboptimality,
  sumAccurate,
} from './logistic';
export {
  GapAccumulator,
  dualObjective,
  dualResidual,
  dualityGap,
  dualityGapFrom,
  entropyAtMargin,
  gapPartCsc,
  gapPartCsr,
  type GapPart,
  type GapResult,
} from './gap';
export {
  defaultStepSize,
  largestEigenvalueXtX,
  logisticSmoothness,
  type PowerIterationOptions,
} from './smoothness';
export { geometricSkip, geometricTable, sampleMask, type GeometricTable } from './mask';
export {
  isTempOf,
  publish,
  removeStaleTemps,
  tempPathFor,
  writeFileDurable,
  type DurableWriteOptions,
} from './durable-write';
export {
  denseCoefficients,
  loadModelFile,
  modelFileOf,
  validateModelFile,
  writeModelFile,
  type ModelFile,
  type ModelMeta,
} from './model-file';
export {
  MANIFEST_FORMAT,
  MANIFEST_NAME,
  checkManifest,
  partFileName,
  readManifest,
  splitLibsvm,
  type PartInfo,
  type SplitManifest,
  type SplitOptions,
} from './split';
export { splitCsv } from './split-csv';
export { INTERCEPT_VALUE, appendConstantColumn, withIntercept } from './intercept';
export { readCsv, streamCsv, type CsvLayout, type CsvOptions } from './csv';
export {
  dataFormatOf,
  readDataFile,
  streamDataFile,
  type DataFileOptions,
  type DataFormat,
} from './data-file';
export { liblinearOf, sklearnOf } from './export';
export { ONNX_INPUT, ONNX_OUTPUT, onnxOf } from './onnx';
