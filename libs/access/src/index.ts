export * from './api-keys.service.js';
export * from './access.module.js';
