/**
 * Errors a service throws when a request cannot be carried out. One exception
 * filter maps them to RFC 9457 problem responses; their messages are written
 * for the caller and never contain submitted values.
 */
export abstract class DomainError extends Error {}

/** 404: the resource does not exist (or is not visible to the caller). */
export class NotFoundError extends DomainError {
  override readonly name = 'NotFoundError';
  constructor(readonly resource: string) {
    super(`${resource} not found`);
  }
}

/** 409: the change conflicts with the current state of another resource. */
export class ConflictError extends DomainError {
  override readonly name = 'ConflictError';
}

/** 422: a rule of the product forbids the action. */
export class RuleViolationError extends DomainError {
  override readonly name = 'RuleViolationError';
}

/** 412: the `If-Match` tag no longer names the current version. */
export class PreconditionFailedError extends DomainError {
  override readonly name = 'PreconditionFailedError';
  constructor() {
    super('the resource has changed since the given If-Match tag; fetch it again');
  }
}

/** 400: one field of the request is invalid. */
export class InvalidFieldError extends DomainError {
  override readonly name = 'InvalidFieldError';
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(`${field} ${reason}`);
  }
}

/** 403: the caller's key may use the route, but not for this (e.g. approving its own request). */
export class ForbiddenActionError extends DomainError {
  override readonly name = 'ForbiddenActionError';
}

/** 410: what was asked for existed once and is no longer kept (e.g. changes older than the change log reaches). */
export class GoneError extends DomainError {
  override readonly name = 'GoneError';
}
