// Finalize: sanitize, minify, store the result (inline when it fits, else S3), write the cache,
// emit the completion event (docs/state-machine.md, state Finalize).
import { ConditionalCheckFailedException, DeleteItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import middy from '@middy/core';
import { dynamoClient, eventBridgeClient, s3Client } from '#commons/clients';
import { intEnv, optionalEnv, requireEnv } from '#commons/env';
import { parseOrThrow } from '#commons/errors';
import { createLogger } from '#commons/logger';
import { logInvocation } from '#commons/middleware';
import { countRunObjects, putPayload, readPayload } from '#commons/payload';
import { sanitizeSvg } from '#commons/sanitize';
import type { StageReport } from '#contracts/schemas';
import { BUDGETS } from '#contracts/schemas';
import {
  cacheItem,
  FinalizeInput,
  type GenerationResult,
  isDegraded,
  minifySvg,
  orderedReports,
  publishCompletion,
} from './result.ts';

const cacheTable = requireEnv('CACHE_TABLE');
const bucket = optionalEnv('PAYLOAD_BUCKET');
const eventBus = optionalEnv('EVENT_BUS_NAME');
const ttlSeconds = intEnv('CACHE_TTL_SECONDS', 86_400);
// A degraded result is cached briefly: the next request after the outage should get the full pipeline.
const degradedTtlSeconds = Math.min(ttlSeconds, intEnv('DEGRADED_CACHE_TTL_SECONDS', 300));
const ddb = dynamoClient();
const s3 = s3Client();
const events = eventBridgeClient();
const logger = createLogger('finalize-result');

export interface FinalizeOutput {
  cache: 'miss';
  requestId: string;
  result: GenerationResult;
}

export async function logic(event: unknown): Promise<FinalizeOutput> {
  const input = parseOrThrow(FinalizeInput, event);
  const { requestId, cacheKey } = input;
  const stages = orderedReports(input.reports);
  const sanitized = await sanitizeBest(input, stages);
  const minified = minifySvg(sanitized.svg);
  const svg = await putPayload(minified.svg, 'image/svg+xml', BUDGETS.stageOutput, {
    s3,
    bucket,
    requestId,
    stage: 'finalize',
    name: 'result.svg',
  });
  const result: GenerationResult = {
    cacheKey,
    tier: input.plan.tier,
    degraded: isDegraded(stages),
    svg,
    stages,
    output: { bytes: Buffer.byteLength(minified.svg, 'utf8'), elements: minified.elements },
    objectsWritten: await countRunObjects(s3, bucket, requestId),
  };

  const ttl = result.degraded ? degradedTtlSeconds : ttlSeconds;
  if (ttl > 0) {
    // Replaces this execution's in-flight claim on the key, so the requests that joined it see the result.
    const Item = cacheItem(result, { svgText: minified.svg, now: new Date(), ttlSeconds: ttl });
    await ddb.send(new PutItemCommand({ TableName: cacheTable, Item }));
  } else {
    await releaseClaim(cacheKey);
  }
  if (eventBus) {
    // The SVG is already stored and cached: a lost event is logged, not worth failing the run.
    const failure = await publishCompletion(events, eventBus, { requestId, result });
    if (failure) logger.error('completion event not delivered', { requestId, error: failure });
  }
  logger.info('result finalized', {
    requestId,
    tier: result.tier,
    degraded: result.degraded,
    bytes: result.output.bytes,
    elements: result.output.elements,
    removed: sanitized.removed,
    objectsWritten: result.objectsWritten,
  });
  return { cache: 'miss', requestId, result };
}

/**
 * The best SVG so far, sanitized; when it does not survive, the template's, with the stage that
 * made the rejected one marked degraded — a valid request always ends with a valid SVG.
 */
async function sanitizeBest(input: FinalizeInput, stages: StageReport[]) {
  const raw = (await readPayload(input.current.svg, s3)).toString('utf8');
  try {
    return sanitizeSvg(raw);
  } catch (error) {
    if (!input.fallback || (error as Error).name !== 'Svg.Invalid') throw error;
    const culprit = stages.findLast((stage) => stage.status === 'ran' && stage.name !== 'template');
    if (!culprit) throw error;
    culprit.status = 'degraded';
    culprit.reason = `output rejected by the sanitizer (${(error as Error).message}); template used`;
    logger.warn('stage output rejected; falling back to the template', { stage: culprit.name });
    return sanitizeSvg((await readPayload(input.fallback, s3)).toString('utf8'));
  }
}

export const handler = middy(logic).use(logInvocation(logger));

/** Nothing is cached: the joiners of the in-flight claim stop waiting and claim the key themselves. */
async function releaseClaim(cacheKey: string): Promise<void> {
  try {
    await ddb.send(
      new DeleteItemCommand({
        TableName: cacheTable,
        Key: { cacheKey: { S: cacheKey } },
        ConditionExpression: '#status = :pending',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':pending': { S: 'pending' } },
      }),
    );
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
  }
}
