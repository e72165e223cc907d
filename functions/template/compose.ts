// Compose (template stage, offline): the embedded default when no LLM is configured and the
// degrade path when the LLM breaker is open or the LLM call failed. Never needs the network.
import middy from '@middy/core';
import { z } from 'zod';
import { parseOrThrow } from '#commons/errors';
import { createLogger } from '#commons/logger';
import { logInvocation } from '#commons/middleware';
import { sha256Hex } from '#commons/payload';
import { GenerationRequest, InlinePayloadRef } from '#contracts/schemas';
import { composeTemplate } from '#template/composer/index';

const logger = createLogger('compose-template');

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

export async function logic(event: unknown): Promise<ComposeOutput> {
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
}

export const handler = middy(logic).use(logInvocation(logger));
