export * from './prisma.service.js';
export * from './audit-log.js';
export * from './like-pattern.js';
export * from './database.module.js';
export * from './migrations.js';
export * from './embedded-postgres.js';
export * from './resolve-database.js';
