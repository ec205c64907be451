export * from './api-keys.service.js';
export * from './access.module.js';
export * from './key-cache.js';
