export * from './types.js';
export * from './dns-client.js';
export * from './spf.js';
