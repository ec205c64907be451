export * from './config.js';
export * from './config.module.js';
export * from './logging.js';
export * from './notifications-config.js';
export * from './console-config.js';
export * from './policy-config.js';
export * from './metrics-config.js';
