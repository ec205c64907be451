import type { Actor } from './roles.js';

/**
 * A single resource and its version. The API turns the version into a strong
 * `ETag` and answers the bare resource.
 */
export class Versioned<T> {
  constructor(
    readonly value: T,
    readonly version: number,
  ) {}
}

/** Who asks for a change, and under which request id: what every audited change needs. */
export interface ChangeContext {
  readonly actor: Actor;
  readonly requestId?: string;
}
