// Finalize's building blocks: the result document and the cache item (minify.ts minifies).
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { z } from 'zod';
import { addSeconds, toIso } from '#commons/clock';
import { GenerationRequest, PayloadRef, STAGES, StageReport, Tier } from '#contracts/schemas';

export const FinalizeInput = z
  .object({
    request: GenerationRequest,
    requestId: z.string().min(1),
    cacheKey: z.string().min(1),
    plan: z.object({ tier: Tier }).loose(),
    /** What the last stage after the template made; no SVG when none did (the template stands). */
    current: z.object({ svg: PayloadRef.optional() }).loose(),
    /**
     * The template's SVG ($.templateSvg), valid by construction: the result when no later stage
     * made one, and the fallback when theirs does not survive sanitization.
     */
    fallback: PayloadRef.optional(),
    reports: z.record(z.string(), StageReport.loose()).optional(),
  })
  .loose();
export type FinalizeInput = z.infer<typeof FinalizeInput>;

// No cacheKey: the key is a hash of the request, and handing it out (API output, events) would let
// anyone confirm a guessed prompt. It lives only in the cache item's key.
export const GenerationResult = z.object({
  tier: Tier,
  degraded: z.boolean(),
  svg: PayloadRef,
  stages: z.array(StageReport),
  output: z.object({ bytes: z.number().int(), elements: z.number().int() }),
  objectsWritten: z.number().int().nonnegative(),
});
export type GenerationResult = z.infer<typeof GenerationResult>;

/** The three stage reports in pipeline order; a missing one (should not happen) says so. */
export function orderedReports(reports: FinalizeInput['reports']): StageReport[] {
  return STAGES.map((name) => {
    const report = reports?.[name];
    if (!report)
      return { name, status: 'degraded', reason: 'no report recorded for this stage', durationMs: 0 };
    const { name: _name, status, reason, durationMs, metrics, objects } = report;
    return {
      name,
      status,
      reason,
      durationMs,
      ...(metrics ? { metrics } : {}),
      ...(objects ? { objects } : {}),
    };
  });
}

export function isDegraded(stages: StageReport[]): boolean {
  return stages.some((stage) => stage.status === 'degraded' || stage.status === 'failed');
}

export interface CacheItemOptions {
  cacheKey: string;
  now: Date;
  ttlSeconds: number;
}

/**
 * The cache item: `result` is what ReturnCached emits, its SVG inline or (over the state budget) a
 * ref into runs/, whose expiry outlasts the cache TTL (infra/config/environments.ts checks it).
 */
export function cacheItem(
  result: GenerationResult,
  options: CacheItemOptions,
): Record<string, AttributeValue> {
  const expires = addSeconds(options.now, options.ttlSeconds);
  const item: Record<string, AttributeValue> = {
    cacheKey: { S: options.cacheKey },
    result: { S: JSON.stringify(result) },
    tier: { S: result.tier },
    degraded: { BOOL: result.degraded },
    expiresAt: { N: String(Math.floor(expires.getTime() / 1000)) },
    expiresAtIso: { S: toIso(expires) },
    createdAt: { S: toIso(options.now) },
  };
  return item;
}
