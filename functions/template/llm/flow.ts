// The template stage's conversation (Chat2SVG stage 1): expand the prompt into a plan, draw an
// SVG under the template rules (one repair round), then `rectifyRounds` rounds of visual
// rectification where the model sees its own rendering. Rectification only ever improves:
// a failed round keeps the SVG that already validated.
import { Resvg } from '@resvg/resvg-js';
import type { LlmClient } from './client.ts';
import { TemplateInvalidSvgError, TemplateRefusedError } from './errors.ts';
import { drawPrompt, expandPrompt, rectifyPrompt, repairPrompt, SYSTEM } from './prompts.ts';
import { CANVAS, repairTemplate, type TemplateSvg } from './template-svg.ts';
import type { ChatMessage, ChatResponse } from './types.ts';

export interface TemplateFlowInput {
  prompt: string;
  style: string;
  rectifyRounds: number;
  /** Epoch ms by which the stage must answer; rounds that would not fit are skipped. */
  deadline?: number;
  maxTokens?: number;
}

export type FlowMetrics = Record<string, number | string | boolean>;

export interface TemplateFlowResult {
  svg: string;
  metrics: FlowMetrics;
}

const user = (text: string, png?: Uint8Array): ChatMessage => ({
  role: 'user',
  content: png
    ? [
        { type: 'text', text },
        { type: 'image', png },
      ]
    : [{ type: 'text', text }],
});
const assistant = (text: string): ChatMessage => ({ role: 'assistant', content: [{ type: 'text', text }] });
/** Keeps a bad answer's echo in the repair round from inflating the prompt. */
const MAX_ECHO = 6_000;

export function renderPng(svg: string): Uint8Array {
  // A white background: a transparent PNG reads as black to some vision models.
  return new Resvg(svg, { fitTo: { mode: 'width', value: CANVAS }, background: '#ffffff' }).render().asPng();
}

export async function runTemplateFlow(
  client: LlmClient,
  input: TemplateFlowInput,
): Promise<TemplateFlowResult> {
  const deadline = input.deadline ?? Number.POSITIVE_INFINITY;
  const maxTokens = input.maxTokens ?? 4096;
  const ask = async (messages: ChatMessage[], tokens = maxTokens): Promise<ChatResponse> => {
    const answer = await client.complete({ system: SYSTEM, messages, maxTokens: tokens }, deadline);
    if (answer.refused) throw new TemplateRefusedError(`the model declined (${answer.stopReason})`);
    return answer;
  };
  const metrics: FlowMetrics = {};
  let slowestCallMs = 0;
  const timed = async <T>(call: () => Promise<T>): Promise<T> => {
    const started = performance.now();
    try {
      return await call();
    } finally {
      slowestCallMs = Math.max(slowestCallMs, performance.now() - started);
    }
  };

  const expand = user(expandPrompt(input.prompt, input.style));
  const plan = (await timed(() => ask([expand], 1024))).text.trim();
  const conversation = [expand, assistant(plan || '(no plan)'), user(drawPrompt())];

  const first = await timed(() => ask(conversation));
  let template: TemplateSvg;
  let repairs = 0;
  try {
    template = repairTemplate(first.text);
  } catch (error) {
    if (!(error instanceof TemplateInvalidSvgError)) throw error;
    repairs = 1;
    const retry = await timed(() =>
      ask([
        ...conversation,
        assistant(first.text.slice(0, MAX_ECHO) || '(empty)'),
        user(repairPrompt(error.message)),
      ]),
    );
    try {
      template = repairTemplate(retry.text);
    } catch (again) {
      if (again instanceof TemplateInvalidSvgError) {
        throw new TemplateInvalidSvgError(`no valid SVG after one repair round: ${again.message}`, {
          cause: again,
        });
      }
      throw again;
    }
  }

  let rounds = 0;
  let rejected = 0;
  let renderMs = 0;
  let rectify = input.rectifyRounds === 0 ? 'none requested' : 'done';
  if (input.rectifyRounds > 0 && !client.adapter.vision) rectify = 'skipped: text-only provider';
  else {
    for (let round = 0; round < input.rectifyRounds; round++) {
      if (Date.now() + slowestCallMs * 1.5 > deadline) {
        rectify = 'stopped: deadline';
        break;
      }
      const started = performance.now();
      const png = renderPng(template.svg);
      renderMs += performance.now() - started;
      const messages = [
        ...conversation,
        assistant(`\`\`\`svg\n${template.svg}\n\`\`\``),
        user(rectifyPrompt(input.prompt, input.style), png),
      ];
      try {
        template = repairTemplate((await timed(() => ask(messages))).text);
        rounds += 1;
      } catch (error) {
        if (error instanceof TemplateInvalidSvgError) {
          rejected += 1;
          continue;
        }
        // Throttling, timeouts or a refusal here cost the improvement, not the template.
        rectify = `stopped: ${(error as Error).name}`;
        break;
      }
    }
  }

  const cost = client.estimatedCostUsd;
  Object.assign(metrics, {
    provider: client.adapter.provider,
    model: client.adapter.model,
    vision: client.adapter.vision,
    calls: client.usage.calls,
    retries: client.usage.retries,
    inputTokens: client.usage.inputTokens,
    outputTokens: client.usage.outputTokens,
    costKnown: cost !== undefined,
    estimatedCostUsd: Number((cost ?? 0).toFixed(6)),
    repairs,
    rectifyRounds: input.rectifyRounds,
    rectifyRoundsDone: rounds,
    rectifyRejected: rejected,
    rectify,
    shapes: template.shapes,
    svgBytes: Buffer.byteLength(template.svg),
    fixes: template.fixes.length,
    llmMs: Math.round(client.usage.llmMs),
    renderMs: Math.round(renderMs),
  });
  return { svg: template.svg, metrics };
}
