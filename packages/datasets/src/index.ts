/*
 * @soda/datasets's public surface, named one by one: no `export *`. Besides keeping internals internal,
 * this is for speed: tsc compiles `export *` into one shared getter (`m[k]`) for every name, a
 * megamorphic load that V8 cannot inline, and it cost ≈ 9 % of the master's CPU per update in a hot
 * loop (`npm run bench:master`); a named re-export gets a getter of its own, which V8 inlines.
 */
export type { BuildInfo } from './sink';
export { DatasetCollector, collect, emit } from './sink';
export { generateMadelon, type MadelonInfo, type MadelonOptions } from './madelon';
export {
  TEXT_PROFILES,
  generateText,
  type TextInfo,
  type TextLike,
  type TextOptions,
  type TextProfile,
} from './text';
export {
  TOKEN_MAX,
  TOKEN_MIN,
  bagOfWords,
  inverseDocumentFrequency,
  tokenize,
  type BagOfWords,
  type BagOfWordsOptions,
} from './bow';
export { buildSpam, loadSpam, spamBagOfWords, type SpamInfo } from './spam';
export { DATASETS, DATASET_NAMES, datasetByName, type DatasetName, type DatasetSpec } from './registry';
