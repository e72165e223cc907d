// Named errors: Step Functions Retry/Catch match on `name`. Callers reach the pipeline through the
// API (docs/architecture.md §12), which answers 5xx with a generic body.
import type { z } from 'zod';

/** The request itself is invalid: the only reason a generation ends without an SVG. */
export class InvalidRequestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'Request.Invalid';
  }
}

/** A handler was called with state data that does not match docs/state-machine.md. */
export class InvalidInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'Input.Invalid';
  }
}

/** A PayloadRef whose bytes do not decode or do not match its byte count or sha256. */
export class PayloadIntegrityError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'Payload.Integrity';
  }
}

/** A payload over its inline budget with no bucket to spill to. */
export class PayloadTooLargeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'Payload.TooLarge';
  }
}

/** Optimistic-concurrency retries on a breaker item ran out (heavy contention). */
export class BreakerConflictError extends Error {
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
export class ProbeTakenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'Breaker.ProbeTaken';
  }
}
