export * from './kkt';
export * from './curvature';
export * from './reference';
export * from './cache';
