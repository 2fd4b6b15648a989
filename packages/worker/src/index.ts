export * from './config';
export * from './columns';
export * from './local-step';
export * from './service';
export * from './own-data';
