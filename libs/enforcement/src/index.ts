export * from './render.js';
export * from './snapshot.js';
export * from './snapshot-store.js';
export * from './signing.js';
export * from './signer.provider.js';
export * from './allowlist.repository.js';
export * from './feed-change-log.js';
export * from './enforcement.module.js';
