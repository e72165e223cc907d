// What record-outcome reports for a stage (the StageReport shapes of docs/state-machine.md), and
// which errors say the stage is unhealthy (counted by its breaker) and which are the request's own.
import { z } from 'zod';
import { StageMetrics, StageName, type StageReport, Tier } from '#contracts/schemas';

export const RecordOutcomeInput = z.object({
  stage: StageName,
  outcome: z.enum(['success', 'failure']),
  executionId: z.string().min(1),
  /** A Catch's ResultPath value: Step Functions' { Error, Cause }. */
  error: z.object({ Error: z.string(), Cause: z.string().nullish() }).optional(),
  /** The stage's result ($.current): durationMs, metrics, objects are reported. */
  current: z
    .object({
      durationMs: z.number().nonnegative().optional(),
      metrics: StageMetrics.optional(),
      objects: z.array(z.string()).optional(),
    })
    .loose()
    .nullish(),
  /** The plan's tier, stored with the duration so estimates scale across tiers. */
  tier: Tier.optional(),
});
export type RecordOutcomeInput = z.infer<typeof RecordOutcomeInput>;

const MAX_REASON = 240;

/** A Lambda failure's Cause is JSON with errorMessage; a container's is plain text. */
function causeText(cause: string | null | undefined): string {
  if (!cause) return '';
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: unknown };
    if (typeof parsed.errorMessage === 'string') return parsed.errorMessage;
  } catch {
    // plain text
  }
  return cause;
}

/** `<Error>: <Cause>` on one line, shortened to fit a report. */
export function failureReason(error: { Error: string; Cause?: string | null } | undefined): string {
  if (!error) return 'Stage.Failed: no error recorded';
  const cause = causeText(error.Cause).replace(/\s+/g, ' ').trim();
  const text = cause ? `${error.Error}: ${cause}` : error.Error;
  return text.length > MAX_REASON ? `${text.slice(0, MAX_REASON - 1)}…` : text;
}

/**
 * Errors about the request, not the stage: the same request would fail the same way on a healthy
 * stage, so they never count toward a breaker (one caller must not open it for everyone).
 */
export const REQUEST_ERRORS: readonly string[] = [
  'Request.Invalid',
  'Input.Invalid',
  'Stage.InvalidInput',
  'Template.NotConfigured',
  'Template.Refused',
  'Template.PromptTooLarge',
];

export type ErrorClass = 'request' | 'stage';

/** Request errors by name; anything else (timeouts, OOM, crashes, provider 5xx, unknown) is the stage's. */
export function classifyError(error: { Error: string } | undefined): ErrorClass {
  return error && REQUEST_ERRORS.includes(error.Error) ? 'request' : 'stage';
}

export function stageReport(input: RecordOutcomeInput, note: string): StageReport {
  if (input.outcome === 'failure') {
    const reason = failureReason(input.error);
    return {
      name: input.stage,
      status: 'degraded',
      reason:
        classifyError(input.error) === 'request'
          ? `request error (not counted by the breaker): ${reason}`
          : reason,
      durationMs: 0,
    };
  }
  const current = input.current ?? {};
  return {
    name: input.stage,
    status: 'ran',
    reason: note,
    durationMs: current.durationMs ?? 0,
    ...(current.metrics ? { metrics: current.metrics } : {}),
    ...(current.objects ? { objects: current.objects } : {}),
  };
}
