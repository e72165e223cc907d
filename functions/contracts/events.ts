// The events the pipeline puts on EventBridge (source `chat2svg`), one schema each; docs/events.md
// publishes them. One event per generation outcome, and one per breaker state change.
import { z } from 'zod';
import { BreakerState, StageName } from './schemas.ts';

export const EVENT_SOURCE = 'chat2svg';
export const EVENT_SCHEMA_VERSION = 1;

export const DETAIL_TYPES = {
  completed: 'Generation Completed',
  completedDegraded: 'Generation Completed Degraded',
  cacheHit: 'Generation Cache Hit',
  failed: 'Generation Failed',
  breaker: 'Breaker State Changed',
} as const;
export type DetailType = (typeof DETAIL_TYPES)[keyof typeof DETAIL_TYPES];
export const GENERATION_DETAIL_TYPES = [
  DETAIL_TYPES.completed,
  DETAIL_TYPES.completedDegraded,
  DETAIL_TYPES.cacheHit,
  DETAIL_TYPES.failed,
] as const;

/** The result document of a finished generation (GenerationResult), kept open for additions. */
const ResultDocument = z.object({ tier: z.string(), degraded: z.boolean(), svg: z.unknown() }).loose();

/** Completed, completed-degraded and cache hit: the result, as a GET of the generation returns it. */
export const GenerationResultEvent = z.object({
  schemaVersion: z.literal(EVENT_SCHEMA_VERSION),
  outcome: z.enum(['completed', 'completed-degraded', 'cache-hit']),
  requestId: z.string(),
  result: ResultDocument,
});
export type GenerationResultEvent = z.infer<typeof GenerationResultEvent>;

/** An execution that ended FAILED, TIMED_OUT or ABORTED: no SVG for this request. */
export const GenerationFailedEvent = z.object({
  schemaVersion: z.literal(EVENT_SCHEMA_VERSION),
  outcome: z.literal('failed'),
  executionArn: z.string(),
  /** The execution name: the API request id for API callers. */
  executionName: z.string(),
  status: z.enum(['FAILED', 'TIMED_OUT', 'ABORTED']),
  error: z.string().optional(),
  cause: z.string().optional(),
  /** Stages whose half-open probe lease this execution held and gave back. */
  releasedProbes: z.array(StageName),
});
export type GenerationFailedEvent = z.infer<typeof GenerationFailedEvent>;

export const BreakerStateChangedEvent = z.object({
  schemaVersion: z.literal(EVENT_SCHEMA_VERSION),
  stage: StageName,
  from: BreakerState,
  to: BreakerState,
  /** When the change was written (ISO-8601 UTC). */
  at: z.string(),
  /** The execution whose outcome or probe made the change. */
  executionId: z.string(),
});
export type BreakerStateChangedEvent = z.infer<typeof BreakerStateChangedEvent>;

/** The legal breaker moves: CLOSED → OPEN → HALF_OPEN → CLOSED | OPEN. */
export const LEGAL_BREAKER_MOVES: readonly `${BreakerState}→${BreakerState}`[] = [
  'CLOSED→OPEN',
  'OPEN→HALF_OPEN',
  'HALF_OPEN→CLOSED',
  'HALF_OPEN→OPEN',
];
