// Finalize's building blocks: minify, the result document, the cache item, the completion event.
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { type EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { optimize } from 'svgo';
import { z } from 'zod';
import { addSeconds, toIso } from '#commons/clock';
import { GenerationRequest, PayloadRef, STAGES, StageReport, Tier } from '#contracts/schemas';

export const FinalizeInput = z
  .object({
    request: GenerationRequest,
    requestId: z.string().min(1),
    cacheKey: z.string().min(1),
    plan: z.object({ tier: Tier }).loose(),
    current: z.object({ svg: PayloadRef }).loose(),
    /** The template's SVG, valid by construction: used when `current` does not survive sanitization. */
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

export interface Minified {
  svg: string;
  /** Elements in the minified document, the root <svg> included (as the sanitizer counts). */
  elements: number;
}

/**
 * svgo with the default preset, except: ids stay (path_N names the shapes a later edit or the
 * report refers to), paths stay separate (merging would fuse shapes), the viewBox stays (svgo 4's
 * preset keeps it; scaling depends on it).
 */
export function minifySvg(svg: string): Minified {
  let elements = 0;
  const { data } = optimize(svg, {
    // One pass: a second one saved nothing on pipeline outputs and doubled the time on large ones.
    multipass: false,
    plugins: [
      { name: 'preset-default', params: { overrides: { cleanupIds: false, mergePaths: false } } },
      {
        name: 'countElements',
        fn: () => ({
          root: {
            enter: () => {
              elements = 0;
            },
          },
          element: {
            enter: () => {
              elements += 1;
            },
          },
        }),
      },
    ],
  });
  return { svg: data, elements };
}

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

export const COMPLETION_EVENT = { source: 'chat2svg', detailType: 'Generation Completed' } as const;

/** Puts the completion event; returns the failure instead of throwing it (the caller decides). */
export async function publishCompletion(
  events: EventBridgeClient,
  eventBusName: string,
  detail: { requestId: string; result: GenerationResult },
): Promise<Error | undefined> {
  try {
    const sent = await events.send(
      new PutEventsCommand({
        Entries: [
          {
            EventBusName: eventBusName,
            Source: COMPLETION_EVENT.source,
            DetailType: COMPLETION_EVENT.detailType,
            Detail: JSON.stringify(detail),
          },
        ],
      }),
    );
    const entry = sent.Entries?.[0];
    return sent.FailedEntryCount
      ? new Error(`${entry?.ErrorCode ?? 'PutEvents'}: ${entry?.ErrorMessage ?? 'failed'}`)
      : undefined;
  } catch (error) {
    return error as Error;
  }
}
