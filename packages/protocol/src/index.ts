export * from './messages';
export * from './errors';
export * from './codec';
export * from './auth';
export type { DecodeContext } from './frames';
export * from './log-records';
