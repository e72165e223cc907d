// Template (LLM): runs the plan → draw → visual-rectify conversation on the plan's provider and
// returns the template SVG inline. Every failure is a named Template.* error the state machine
// catches; the breaker counts it and the offline composer takes over.
import { z } from 'zod';
import type { HandlerDeps } from '#commons/clients';
import { type Env, intEnv } from '#commons/env';
import { parseOrThrow } from '#commons/errors';
import { createTools, lambdaHandler, MetricUnit } from '#commons/lambda';
import { encodeInline } from '#commons/payload';
import { STAGE_LIMITS } from '#contracts/defaults';
import { BUDGETS, GenerationRequest, LlmProvider, type PayloadRef, TemplateConfig } from '#contracts/schemas';
import { LlmClient } from '#template/llm/client';
import { TemplateInvalidSvgError, TemplateNotConfiguredError } from '#template/llm/errors';
import { runTemplateFlow } from '#template/llm/flow';
import { clientSettings, createAdapter, maxOutputTokens } from '#template/llm/settings';
import type { ChatAdapter, ProviderName } from '#template/llm/types';

export interface GenerateTemplateConfig {
  /** Stage budget when no Lambda context says how long is left. */
  readonly budgetMs: number;
  readonly maxTokens: number;
  /** Provider settings (models, keys, endpoints, limits): llm/settings.ts reads them from here. */
  readonly llmEnv: Env;
}

/** Time kept back from the Lambda's remaining time to return the result. */
const RESERVE_MS = 5_000;

export function configFromEnv(env: Env = process.env): GenerateTemplateConfig {
  return {
    budgetMs: intEnv('TEMPLATE_BUDGET_MS', STAGE_LIMITS.template.timeoutSeconds * 1000 - 2 * RESERVE_MS, env),
    maxTokens: maxOutputTokens(env),
    llmEnv: env,
  };
}

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

export function makeHandler(config: GenerateTemplateConfig, deps: HandlerDeps = {}) {
  const tools = deps.tools ?? createTools('generate-template');
  const { logger, metrics: emf } = tools;
  // One adapter (and SDK client) per provider and model size for the life of the container.
  const adapters = new Map<string, Promise<ChatAdapter>>();
  const adapterFor = (provider: ProviderName, large: boolean): Promise<ChatAdapter> => {
    const key = `${provider}:${large}`;
    let adapter = adapters.get(key);
    if (adapter === undefined) {
      adapter = createAdapter(provider, large, config.llmEnv);
      adapters.set(key, adapter);
      adapter.catch(() => adapters.delete(key));
    }
    return adapter;
  };

  /** Tokens and cost of every call, the failed conversations' too: they are billed all the same. */
  const usageMetrics = (client: LlmClient) => {
    emf.addDimensions({ provider: client.adapter.provider });
    emf.addMetric('LlmInputTokens', MetricUnit.Count, client.usage.inputTokens);
    emf.addMetric('LlmOutputTokens', MetricUnit.Count, client.usage.outputTokens);
    const cost = client.estimatedCostUsd;
    if (cost !== undefined) emf.addMetric('LlmCostUsd', MetricUnit.NoUnit, cost);
  };

  return lambdaHandler(async (event, context): Promise<GenerateTemplateOutput> => {
    const started = performance.now();
    const input = parseOrThrow(GenerateTemplateInput, event);
    if (input.provider === 'offline') throw new TemplateNotConfiguredError('the plan names no LLM provider');
    const remaining = context?.getRemainingTimeInMillis?.() ?? config.budgetMs + RESERVE_MS;
    const adapter = await adapterFor(input.provider, input.config.useLargerModel);
    const client = new LlmClient(adapter, clientSettings(adapter.model, config.llmEnv));
    const { svg, metrics } = await runTemplateFlow(client, {
      prompt: input.request.prompt,
      style: input.request.style,
      rectifyRounds: input.config.rectifyRounds,
      deadline: Date.now() + remaining - RESERVE_MS,
      maxTokens: config.maxTokens,
    }).finally(() => usageMetrics(client));
    const ref = encodeInline(svg, 'image/svg+xml', BUDGETS.stageOutput);
    if (ref === undefined)
      throw new TemplateInvalidSvgError('the template does not fit the stage output budget');
    const durationMs = Math.round(performance.now() - started);
    logger.info('template drawn', { requestId: input.requestId, durationMs, ...metrics });
    return { svg: ref, metrics, durationMs };
  }, tools);
}
