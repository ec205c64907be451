export * from './challenge.js';
export * from './domain-lifecycle.js';
export * from './domains.service.js';
export * from './evidence.js';
export * from './ownership.service.js';
export * from './ownership.module.js';
export * from './dns.module.js';
export * from './domain-status-listener.js';
