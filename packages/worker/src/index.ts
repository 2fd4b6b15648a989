export * from './config';
export * from './columns';
export * from './local-step';
export * from './service';
export * from './own-data';
export { HeldModel } from './held-model';
