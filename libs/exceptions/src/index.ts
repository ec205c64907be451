export * from './exception-rules.js';
export * from './grant-proof.js';
export * from './exception-view.js';
export * from './exceptions.service.js';
export * from './exception-decisions.service.js';
export * from './exception-cascade.js';
export * from './feed-version.js';
export * from './exceptions.module.js';
export type { ExceptionFilter } from './exceptions.repository.js';
