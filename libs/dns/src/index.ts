export * from './types.js';
export * from './limits.js';
export * from './dns-client.js';
export * from './dns-check.js';
export * from './spf.js';
export * from './resolver-health.js';
