/*
 * @soda/solver's public surface, named one by one: no `export *`. Besides keeping internals internal,
 * this is for speed: tsc compiles `export *` into one shared getter (`m[k]`) for every name, a
 * megamorphic load that V8 cannot inline, and it cost ≈ 9 % of the master's CPU per update in a hot
 * loop (`npm run bench:master`); a named re-export gets a getter of its own, which V8 inlines.
 */
export {
  KKT_CERTIFICATE_KIND,
  kktViolation,
  minNormSubgradient,
  norm2,
  normInf,
  suboptimalityBound,
} from './kkt';
export {
  conjugateGradient,
  curvatureWeights,
  hessianDiagonal,
  hessianVector,
  type CgResult,
} from './curvature';
export {
  SOLVER_METHOD,
  solveReference,
  type SolveOptions,
  type SolveProgress,
  type SolveResult,
} from './reference';
export {
  SOLVER_VERSION,
  datasetKey,
  floatHex,
  solveCached,
  solveKey,
  type CachedSolveOptions,
  type CachedSolveResult,
} from './cache';
