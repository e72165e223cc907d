// What record-outcome reports for a stage: the StageReport shapes of docs/state-machine.md.
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

export function stageReport(input: RecordOutcomeInput, note: string): StageReport {
  if (input.outcome === 'failure') {
    return { name: input.stage, status: 'degraded', reason: failureReason(input.error), durationMs: 0 };
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
