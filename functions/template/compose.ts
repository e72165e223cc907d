// Compose (template stage, offline): the embedded default when no LLM is configured and the
// degrade path when the LLM breaker is open or the LLM call failed. Never needs the network.
import { z } from 'zod';
import type { HandlerDeps } from '#commons/clients';
import { parseOrThrow } from '#commons/errors';
import { createTools, lambdaHandler } from '#commons/lambda';
import { sha256Hex } from '#commons/payload';
import { GenerationRequest, InlinePayloadRef } from '#contracts/schemas';
import { composeTemplate } from '#template/composer/index';

/** The composer needs no settings: it runs the same everywhere, offline. */
export type ComposeConfig = Record<string, never>;

export function configFromEnv(): ComposeConfig {
  return {};
}

export const ComposeInput = z.object({ request: GenerationRequest, requestId: z.string().min(1) });
export type ComposeInput = z.input<typeof ComposeInput>;

export const ComposeOutput = z
  .object({
    svg: InlinePayloadRef,
    objects: z.array(z.string()),
    metrics: z.object({ elements: z.number().int(), objects: z.number().int() }).strict(),
    durationMs: z.number().nonnegative(),
  })
  .strict();
export type ComposeOutput = z.infer<typeof ComposeOutput>;

export function makeHandler(_config: ComposeConfig = {}, deps: HandlerDeps = {}) {
  const tools = deps.tools ?? createTools('compose-template');
  const { logger } = tools;
  return lambdaHandler(async (event): Promise<ComposeOutput> => {
    const started = performance.now();
    const { request, requestId } = parseOrThrow(ComposeInput, event);
    const template = await composeTemplate({
      prompt: request.prompt,
      style: request.style,
      seed: request.seed,
    });
    const bytes = Buffer.from(template.svg, 'utf8');
    // A composed template is a few KiB, far below every inline budget, so it always travels inline.
    const svg: InlinePayloadRef = {
      inline: template.svg,
      encoding: 'utf8',
      mediaType: 'image/svg+xml',
      bytes: bytes.length,
      sha256: sha256Hex(bytes),
    };
    const durationMs = Math.round(performance.now() - started);
    logger.info('template composed', {
      requestId,
      objects: template.objects,
      relations: template.relations,
      elements: template.elements,
      durationMs,
    });
    return {
      svg,
      objects: template.objects,
      metrics: { elements: template.elements, objects: template.objects.length },
      durationMs,
    };
  }, tools);
}
