export * from './config';
export * from './local-step';
export * from './service';
export * from './own-data';
