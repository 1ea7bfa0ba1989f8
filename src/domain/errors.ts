// Errors are values with a type: services throw these, and exactly one handler in http/ turns them into
// RFC 9457 problem documents.

export interface FieldError {
  field: string;
  message: string;
}

export abstract class DomainError extends Error {
  abstract readonly status: number;
  abstract readonly code: string;
  /** Extra members of the problem document (`existing_id` on a duplicate). */
  readonly extra: Record<string, unknown> = {};
}

export class Invalid extends DomainError {
  readonly status = 422;
  readonly code = 'validation';
  constructor(readonly errors: FieldError[], detail?: string) {
    super(detail ?? errors.map((e) => `${e.field}: ${e.message}`).join('; '));
  }
  static field(field: string, message: string): Invalid {
    return new Invalid([{ field, message }]);
  }
}

export class NotFound extends DomainError {
  readonly status = 404;
  readonly code = 'not-found';
  constructor(what = 'resource') {
    super(`No such ${what}`);
  }
}

export class Conflict extends DomainError {
  readonly status = 409;
  readonly code = 'conflict';
  constructor(detail: string, extra: Record<string, unknown> = {}) {
    super(detail);
    Object.assign(this.extra, extra);
  }
}

export class Unauthorized extends DomainError {
  readonly status = 401;
  readonly code = 'unauthorized';
  constructor(detail = 'Missing or invalid credentials') {
    super(detail);
  }
}

export class Forbidden extends DomainError {
  readonly status = 403;
  readonly code = 'forbidden';
  constructor(detail = 'Not allowed') {
    super(detail);
  }
}

export class Gone extends DomainError {
  readonly status = 410;
  readonly code = 'gone';
}

export class RateLimited extends DomainError {
  readonly status = 429;
  readonly code = 'rate-limited';
  constructor(readonly retryAfterSeconds: number) {
    super('Too many requests');
  }
}

export class TooLarge extends DomainError {
  readonly status = 413;
  readonly code = 'too-large';
}

export class UnsupportedMediaType extends DomainError {
  readonly status = 415;
  readonly code = 'unsupported-media-type';
}
