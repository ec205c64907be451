export * from './organizations.service.js';
export * from './mail-servers.service.js';
export * from './registry.module.js';
export type { OrganizationChanges, OrganizationFilter } from './organizations.repository.js';
