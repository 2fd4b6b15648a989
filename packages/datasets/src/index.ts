export type { BuildInfo } from './sink';
export { DatasetCollector, collect, emit } from './sink';
export * from './madelon';
export * from './text';
export * from './bow';
export * from './spam';
export * from './registry';
