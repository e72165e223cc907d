// The Anthropic Messages API through the official SDK (ANTHROPIC_BASE_URL works for proxies).
import Anthropic from '@anthropic-ai/sdk';
import type { ChatAdapter, ChatRequest, ChatResponse } from './types.ts';

export function anthropicAdapter(options: {
  model: string;
  vision: boolean;
  apiKey: string;
  baseURL?: string;
}): ChatAdapter {
  // LlmClient owns retries and timeouts; the SDK's would stack on top of them.
  const client = new Anthropic({ apiKey: options.apiKey, baseURL: options.baseURL, maxRetries: 0 });
  return {
    provider: 'anthropic',
    model: options.model,
    vision: options.vision,
    async send(request: ChatRequest, signal: AbortSignal): Promise<ChatResponse> {
      const out = await client.messages.create(
        {
          model: options.model,
          max_tokens: request.maxTokens,
          system: request.system,
          messages: request.messages.map((m) => ({
            role: m.role,
            content: m.content.map((part) =>
              part.type === 'text'
                ? { type: 'text' as const, text: part.text }
                : {
                    type: 'image' as const,
                    source: {
                      type: 'base64' as const,
                      media_type: 'image/png' as const,
                      data: Buffer.from(part.png).toString('base64'),
                    },
                  },
            ),
          })),
        },
        { signal },
      );
      return {
        text: out.content.map((block) => (block.type === 'text' ? block.text : '')).join(''),
        inputTokens: out.usage.input_tokens,
        outputTokens: out.usage.output_tokens,
        stopReason: out.stop_reason ?? 'unknown',
        refused: out.stop_reason === 'refusal',
      };
    },
  };
}
