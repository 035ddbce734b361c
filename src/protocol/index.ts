export * from './errors';
export * from './sse';
export * from './frames';
export * from './timers';
