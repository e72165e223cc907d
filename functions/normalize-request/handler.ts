// Normalize: validates the request (also for callers that start the state machine directly)
// and names the run: requestId for objects and logs, cacheKey for the result cache.
import { z } from 'zod';
import type { HandlerDeps } from '#commons/clients';
import { type Env, optionalEnv } from '#commons/env';
import { InvalidRequestError, parseOrThrow } from '#commons/errors';
import { createTools, lambdaHandler } from '#commons/lambda';
import { GenerationRequest, PIPELINE_VERSION } from '#contracts/schemas';
import { cacheKeyOf, requestIdFrom } from './identity.ts';

export interface NormalizeConfig {
  /** Part of every cache key; PIPELINE_VERSION overrides the contracts' version. */
  readonly pipelineVersion: string;
}

export function configFromEnv(env: Env = process.env): NormalizeConfig {
  return { pipelineVersion: optionalEnv('PIPELINE_VERSION', env) ?? PIPELINE_VERSION };
}

/** The Task passes `{ request: $, executionName: $$.Execution.Name }`; a bare request works too. */
const WrappedEvent = z.object({ request: z.unknown(), executionName: z.string().optional() }).strict();
/**
 * What the API starts an execution with: the body beside the IAM principal that sent it, which
 * GET compares with its own caller. Only the body goes on.
 */
const CallerEnvelope = z.object({ caller: z.string().min(1), request: z.unknown() }).strict();

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
    const input = wrapped.success ? wrapped.data.request : event;
    const envelope = CallerEnvelope.safeParse(input);
    const raw = envelope.success ? envelope.data.request : input;
    const request = parseOrThrow(GenerationRequest, raw, InvalidRequestError);
    const requestId = requestIdFrom(wrapped.success ? wrapped.data.executionName : undefined);
    const cacheKey = cacheKeyOf(request, config.pipelineVersion);
    logger.info('request normalized', { requestId, cacheKey, tier: request.tier });
    return { request, requestId, cacheKey };
  }, tools);
}
