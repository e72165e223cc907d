// Template (LLM): runs the plan → draw → visual-rectify conversation on the plan's provider and
// returns the template SVG inline. Every failure is a named Template.* error the state machine
// catches; the breaker counts it and the offline composer takes over.
import middy from '@middy/core';
import { z } from 'zod';
import { s3Client } from '#commons/clients';
import { intEnv, optionalEnv } from '#commons/env';
import { parseOrThrow } from '#commons/errors';
import { createLogger } from '#commons/logger';
import { logInvocation } from '#commons/middleware';
import { putPayload } from '#commons/payload';
import { BUDGETS, GenerationRequest, LlmProvider, type PayloadRef, TemplateConfig } from '#contracts/schemas';
import { LlmClient } from '#template/llm/client';
import { TemplateNotConfiguredError } from '#template/llm/errors';
import { runTemplateFlow } from '#template/llm/flow';
import { clientSettings, createAdapter, maxOutputTokens } from '#template/llm/settings';
import type { ChatAdapter, ProviderName } from '#template/llm/types';

const logger = createLogger('generate-template');
const s3 = s3Client();
const bucket = optionalEnv('PAYLOAD_BUCKET');
/** Time kept back from the Lambda's remaining time to return the result. */
const RESERVE_MS = 5_000;
/** Stage budget when no Lambda context says how long is left (the local runtime). */
const budgetMs = intEnv('TEMPLATE_BUDGET_MS', 110_000);
const maxTokens = maxOutputTokens();

export const GenerateTemplateInput = z
  .object({
    stage: z.literal('template').optional(),
    request: GenerationRequest,
    requestId: z.string().min(1),
    config: TemplateConfig,
    provider: LlmProvider,
  })
  .strict();

export interface GenerateTemplateOutput {
  svg: PayloadRef;
  metrics: Record<string, number | string | boolean>;
  durationMs: number;
}

// One adapter (and SDK client) per provider and model size for the life of the container.
const adapters = new Map<string, Promise<ChatAdapter>>();
function adapterFor(provider: ProviderName, large: boolean): Promise<ChatAdapter> {
  const key = `${provider}:${large}`;
  let adapter = adapters.get(key);
  if (adapter === undefined) {
    adapter = createAdapter(provider, large);
    adapters.set(key, adapter);
    adapter.catch(() => adapters.delete(key));
  }
  return adapter;
}

export async function logic(
  event: unknown,
  context?: { getRemainingTimeInMillis?: () => number },
): Promise<GenerateTemplateOutput> {
  const started = performance.now();
  const input = parseOrThrow(GenerateTemplateInput, event);
  if (input.provider === 'offline') throw new TemplateNotConfiguredError('the plan names no LLM provider');
  const remaining = context?.getRemainingTimeInMillis?.() ?? budgetMs + RESERVE_MS;
  const adapter = await adapterFor(input.provider, input.config.useLargerModel);
  const client = new LlmClient(adapter, clientSettings(adapter.model));
  const { svg, metrics } = await runTemplateFlow(client, {
    prompt: input.request.prompt,
    style: input.request.style,
    rectifyRounds: input.config.rectifyRounds,
    deadline: Date.now() + remaining - RESERVE_MS,
    maxTokens,
  });
  // Inline up to the template's share of the state; a larger one goes to S3 (runs/<id>/template/).
  const ref = await putPayload(svg, 'image/svg+xml', BUDGETS.templateOutput, {
    s3,
    bucket,
    requestId: input.requestId,
    stage: 'template',
    name: 'template.svg',
  });
  const durationMs = Math.round(performance.now() - started);
  logger.info('template drawn', { requestId: input.requestId, durationMs, ...metrics });
  return { svg: ref, metrics, durationMs };
}

export const handler = middy(logic).use(logInvocation(logger));
