export * from './local-step';
