// Finalize: sanitize, minify, store the result (inline when it fits, else S3), write the cache,
// emit the outcome event, completed or completed-degraded (docs/state-machine.md, state Finalize;
// docs/events.md).
import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  type DynamoDBClient,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import { dynamoClient, eventBridgeClient, type HandlerDeps, s3Client } from '#commons/clients';
import { type Env, intEnv, optionalEnv, requireEnv } from '#commons/env';
import { InvalidInputError, parseOrThrow } from '#commons/errors';
import { publishEvent } from '#commons/events';
import { createTools, lambdaHandler, MetricUnit } from '#commons/lambda';
import { countRunObjects, putPayload, readPayload } from '#commons/payload';
import { sanitizeSvg } from '#commons/sanitize';
import { DETAIL_TYPES, EVENT_SCHEMA_VERSION, type GenerationResultEvent } from '#contracts/events';
import type { StageReport } from '#contracts/schemas';
import { BUDGETS } from '#contracts/schemas';
import { minifySvg } from './minify.ts';
import { cacheItem, FinalizeInput, type GenerationResult, isDegraded, orderedReports } from './result.ts';

export interface FinalizeConfig {
  readonly cacheTable: string;
  readonly bucket: string | undefined;
  /** Completion events go here; none means no event. */
  readonly eventBus: string | undefined;
  /** How long a result is served from the cache; 0 disables the write. */
  readonly ttlSeconds: number;
  /** A degraded result is cached briefly: the next request after the outage should get the full pipeline. */
  readonly degradedTtlSeconds: number;
}

export function configFromEnv(env: Env = process.env): FinalizeConfig {
  const ttlSeconds = intEnv('CACHE_TTL_SECONDS', 86_400, env);
  return {
    cacheTable: requireEnv('CACHE_TABLE', env),
    bucket: optionalEnv('PAYLOAD_BUCKET', env),
    eventBus: optionalEnv('EVENT_BUS_NAME', env),
    ttlSeconds,
    degradedTtlSeconds: Math.min(ttlSeconds, intEnv('DEGRADED_CACHE_TTL_SECONDS', 300, env)),
  };
}

export interface FinalizeOutput {
  cache: 'miss';
  requestId: string;
  result: GenerationResult;
}

export function makeHandler(config: FinalizeConfig, deps: HandlerDeps = {}) {
  const tools = deps.tools ?? createTools('finalize-result');
  const { logger, metrics } = tools;
  const ddb = deps.clients?.dynamodb ?? dynamoClient(tools);
  const s3 = deps.clients?.s3 ?? s3Client(tools);
  const events = deps.clients?.events ?? eventBridgeClient(tools);

  return lambdaHandler(async (event): Promise<FinalizeOutput> => {
    const input = parseOrThrow(FinalizeInput, event);
    const { requestId, cacheKey } = input;
    const stages = orderedReports(input.reports);
    const sanitized = await sanitizeBest(input, stages, s3, (stage) =>
      logger.warn('stage output rejected; falling back to the template', { stage }),
    );
    const minified = minifySvg(sanitized.svg);
    const svg = await putPayload(minified.svg, 'image/svg+xml', BUDGETS.stageOutput, {
      s3,
      bucket: config.bucket,
      requestId,
      stage: 'finalize',
      name: 'result.svg',
    });
    const result: GenerationResult = {
      tier: input.plan.tier,
      degraded: isDegraded(stages),
      svg,
      stages,
      output: { bytes: Buffer.byteLength(minified.svg, 'utf8'), elements: minified.elements },
      objectsWritten: await countRunObjects(s3, config.bucket, requestId),
    };

    const ttl = result.degraded ? config.degradedTtlSeconds : config.ttlSeconds;
    if (ttl > 0) {
      // Replaces this execution's in-flight claim on the key, so the requests that joined it see the result.
      const Item = cacheItem(result, { cacheKey, now: new Date(), ttlSeconds: ttl });
      await ddb.send(new PutItemCommand({ TableName: config.cacheTable, Item }));
    } else {
      await releaseClaim(ddb, config.cacheTable, cacheKey);
    }
    if (config.eventBus) {
      // The SVG is already stored and cached: a lost event is logged, not worth failing the run.
      const detail: GenerationResultEvent = {
        schemaVersion: EVENT_SCHEMA_VERSION,
        outcome: result.degraded ? 'completed-degraded' : 'completed',
        requestId,
        result,
      };
      const type = result.degraded ? DETAIL_TYPES.completedDegraded : DETAIL_TYPES.completed;
      const failure = await publishEvent(events, config.eventBus, type, detail);
      if (failure) logger.error('outcome event not delivered', { requestId, error: failure });
    }
    for (const stage of stages) {
      const outcome = metrics.singleMetric();
      outcome.addDimensions({ stage: stage.name, status: stage.status });
      outcome.addMetric('StageOutcome', MetricUnit.Count, 1);
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
  }, tools);
}

/**
 * The best SVG so far, sanitized; when it does not survive, the template's, with the stage that
 * made the rejected one marked degraded — a valid request always ends with a valid SVG.
 */
async function sanitizeBest(
  input: FinalizeInput,
  stages: StageReport[],
  s3: S3Client,
  onFallback: (stage: string) => void,
) {
  const best = input.current.svg ?? input.fallback;
  if (!best) throw new InvalidInputError('no SVG: neither $.current.svg nor the template');
  const raw = (await readPayload(best, s3)).toString('utf8');
  try {
    return sanitizeSvg(raw);
  } catch (error) {
    if (!input.fallback || !input.current.svg || (error as Error).name !== 'Svg.Invalid') throw error;
    const culprit = stages.findLast((stage) => stage.status === 'ran' && stage.name !== 'template');
    if (!culprit) throw error;
    culprit.status = 'degraded';
    culprit.reason = `output rejected by the sanitizer (${(error as Error).message}); template used`;
    onFallback(culprit.name);
    return sanitizeSvg((await readPayload(input.fallback, s3)).toString('utf8'));
  }
}

/** Nothing is cached: the joiners of the in-flight claim stop waiting and claim the key themselves. */
async function releaseClaim(ddb: DynamoDBClient, table: string, cacheKey: string): Promise<void> {
  try {
    await ddb.send(
      new DeleteItemCommand({
        TableName: table,
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
