export * from './errors';
export * from './sparse';
export * from './matrix';
export * from './rng';
