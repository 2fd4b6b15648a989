export * from './config';
export * from './evaluation';
export * from './metrics';
export * from './model-file';
export * from './model-state';
export * from './server';
export * from './shards';
export * from './stats';
