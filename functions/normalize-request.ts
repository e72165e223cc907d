// Normalize: validates the request (also for callers that start the state machine directly)
// and names the run: requestId for objects and logs, cacheKey for the result cache.
import middy from '@middy/core';
import { z } from 'zod';
import { optionalEnv } from '#commons/env';
import { InvalidRequestError, parseOrThrow } from '#commons/errors';
import { createLogger } from '#commons/logger';
import { logInvocation } from '#commons/middleware';
import { cacheKeyOf, requestIdFrom } from '#commons/request';
import { GenerationRequest, PIPELINE_VERSION } from '#contracts/schemas';

const pipelineVersion = optionalEnv('PIPELINE_VERSION') ?? PIPELINE_VERSION;
const logger = createLogger('normalize-request');

/** The Task passes `{ request: $, executionName: $$.Execution.Name }`; a bare request works too. */
const WrappedEvent = z.object({ request: z.unknown(), executionName: z.string().optional() }).strict();

export const NormalizeOutput = z.object({
  request: GenerationRequest,
  requestId: z.string(),
  cacheKey: z.string(),
});
export type NormalizeOutput = z.infer<typeof NormalizeOutput>;

export async function logic(event: unknown): Promise<NormalizeOutput> {
  const wrapped = WrappedEvent.safeParse(event);
  const raw = wrapped.success ? wrapped.data.request : event;
  const request = parseOrThrow(GenerationRequest, raw, InvalidRequestError);
  const requestId = requestIdFrom(wrapped.success ? wrapped.data.executionName : undefined);
  const cacheKey = cacheKeyOf(request, pipelineVersion);
  logger.info('request normalized', { requestId, cacheKey, tier: request.tier });
  return { request, requestId, cacheKey };
}

export const handler = middy(logic).use(logInvocation(logger));
