// Named errors: Step Functions Retry/Catch match on `name`, and callers see only 4xx messages.
import type { z } from 'zod';

/** Base for errors that carry an HTTP status; 5xx messages never reach a caller. */
export class AppError extends Error {
  readonly statusCode: number = 500;

  /** What a caller may read: the message for 4xx, a generic line for 5xx. */
  get publicMessage(): string {
    return this.statusCode < 500 ? this.message : 'internal error';
  }
}

/** The request itself is invalid: the only reason a generation ends without an SVG. */
export class InvalidRequestError extends AppError {
  override readonly statusCode = 400;
  constructor(message: string) {
    super(message);
    this.name = 'Request.Invalid';
  }
}

/** A handler was called with state data that does not match docs/state-machine.md. */
export class InvalidInputError extends AppError {
  constructor(message: string) {
    super(message);
    this.name = 'Input.Invalid';
  }
}

/** A PayloadRef whose bytes do not decode or do not match its byte count or sha256. */
export class PayloadIntegrityError extends AppError {
  constructor(message: string) {
    super(message);
    this.name = 'Payload.Integrity';
  }
}

/** A payload over its inline budget with no bucket to spill to. */
export class PayloadTooLargeError extends AppError {
  constructor(message: string) {
    super(message);
    this.name = 'Payload.TooLarge';
  }
}

/** Optimistic-concurrency retries on a breaker item ran out (heavy contention). */
export class BreakerConflictError extends AppError {
  constructor(message: string) {
    super(message);
    this.name = 'Breaker.Conflict';
  }
}

/** `path: message; path: message` — short enough for a 400 body or a Step Functions Cause. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.length ? issue.path.join('.') : '(root)'}: ${issue.message}`)
    .join('; ');
}

/** Parses `input` or throws the given named error with the zod issues as its message. */
export function parseOrThrow<S extends z.ZodType>(
  schema: S,
  input: unknown,
  ErrorClass: new (message: string) => Error = InvalidInputError,
): z.output<S> {
  const parsed = schema.safeParse(input);
  if (!parsed.success) throw new ErrorClass(describeIssues(parsed.error));
  return parsed.data;
}

/** The half-open probe is not free: the breaker is open, or another execution holds the lease. */
export class ProbeTakenError extends AppError {
  constructor(message: string) {
    super(message);
    this.name = 'Breaker.ProbeTaken';
  }
}
