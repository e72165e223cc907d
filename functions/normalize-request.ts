// Normalize: validates the request (also for callers that start the state machine directly)
// and names the run: requestId for objects and logs, cacheKey for the result cache.
import { z } from 'zod';
import type { HandlerDeps } from '#commons/clients';
import { type Env, optionalEnv } from '#commons/env';
import { InvalidRequestError, parseOrThrow } from '#commons/errors';
import { createTools, lambdaHandler } from '#commons/lambda';
import { cacheKeyOf, requestIdFrom } from '#commons/request';
import { GenerationRequest, PIPELINE_VERSION } from '#contracts/schemas';

export interface NormalizeConfig {
  /** Part of every cache key; PIPELINE_VERSION overrides the contracts' version. */
  readonly pipelineVersion: string;
}

export function configFromEnv(env: Env = process.env): NormalizeConfig {
  return { pipelineVersion: optionalEnv('PIPELINE_VERSION', env) ?? PIPELINE_VERSION };
}

/** The Task passes `{ request: $, executionName: $$.Execution.Name }`; a bare request works too. */
const WrappedEvent = z.object({ request: z.unknown(), executionName: z.string().optional() }).strict();

export const NormalizeOutput = z.object({
  request: GenerationRequest,
  requestId: z.string(),
  cacheKey: z.string(),
});
export type NormalizeOutput = z.infer<typeof NormalizeOutput>;

export function makeHandler(config: NormalizeConfig, deps: HandlerDeps = {}) {
  const tools = deps.tools ?? createTools('normalize-request');
  const { logger } = tools;
  return lambdaHandler(async (event): Promise<NormalizeOutput> => {
    const wrapped = WrappedEvent.safeParse(event);
    const raw = wrapped.success ? wrapped.data.request : event;
    const request = parseOrThrow(GenerationRequest, raw, InvalidRequestError);
    const requestId = requestIdFrom(wrapped.success ? wrapped.data.executionName : undefined);
    const cacheKey = cacheKeyOf(request, config.pipelineVersion);
    logger.info('request normalized', { requestId, cacheKey, tier: request.tier });
    return { request, requestId, cacheKey };
  }, tools);
}
