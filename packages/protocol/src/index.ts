export * from './messages';
export * from './errors';
export * from './codec';
export * from './auth';
export * from './session';
export type { DecodeContext } from './frames';
export * from './log-records';
export { applyModelDiff, applyModelDiffInto, heldModel, modelDiff, roundForWire } from './wire-precision';
