export * from './model-state';
