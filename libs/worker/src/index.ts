export * from './worker.js';
export * from './worker.module.js';
export * from './retention.service.js';
export * from './job-queues.js';
