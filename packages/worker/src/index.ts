export * from './config';
export * from './local-step';
export * from './service';
