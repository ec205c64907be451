export * from './hostname.js';
export * from './address.js';
export * from './canonical-json.js';
export * from './roles.js';
export * from './api-key-secret.js';
export * from './duration.js';
export * from './errors.js';
export * from './pagination.js';
