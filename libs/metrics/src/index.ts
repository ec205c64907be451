export * from './helopass-metrics.js';
export * from './metrics-listener.js';
export * from './metrics.module.js';
