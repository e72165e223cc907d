// Amazon Bedrock through the Converse API: one request shape for every model family on Bedrock.
// Region, credentials and AWS_ENDPOINT_URL_BEDROCK_RUNTIME come from the SDK's standard chain.
import {
  BedrockRuntimeClient,
  type BedrockRuntimeClientConfig,
  type ContentBlock,
  ConverseCommand,
  type Message,
} from '@aws-sdk/client-bedrock-runtime';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { ChatAdapter, ChatRequest, ChatResponse } from './types.ts';

const REFUSALS = new Set(['content_filtered', 'guardrail_intervened']);

export function bedrockAdapter(options: {
  model: string;
  vision: boolean;
  client?: BedrockRuntimeClient;
  /** Region, endpoint and credentials; unset ones come from the SDK's default chain. */
  clientConfig?: BedrockRuntimeClientConfig;
}): ChatAdapter {
  // LlmClient owns retries; the SDK's own would multiply them. Converse needs no HTTP/2 (the
  // client's default, for streams), and HTTP/1.1 also reaches proxies and local stand-ins.
  const client =
    options.client ??
    new BedrockRuntimeClient({
      ...options.clientConfig,
      maxAttempts: 1,
      requestHandler: new NodeHttpHandler({ connectionTimeout: 5_000 }),
    });
  return {
    provider: 'bedrock',
    model: options.model,
    vision: options.vision,
    async send(request: ChatRequest, signal: AbortSignal): Promise<ChatResponse> {
      const messages: Message[] = request.messages.map((m) => ({
        role: m.role,
        content: m.content.map(
          (part): ContentBlock =>
            part.type === 'text'
              ? { text: part.text }
              : { image: { format: 'png', source: { bytes: part.png } } },
        ),
      }));
      const out = await client.send(
        new ConverseCommand({
          modelId: options.model,
          system: [{ text: request.system }],
          messages,
          inferenceConfig: { maxTokens: request.maxTokens },
        }),
        { abortSignal: signal },
      );
      const stopReason = out.stopReason ?? 'unknown';
      return {
        text: (out.output?.message?.content ?? []).map((block) => block.text ?? '').join(''),
        inputTokens: out.usage?.inputTokens ?? 0,
        outputTokens: out.usage?.outputTokens ?? 0,
        stopReason,
        refused: REFUSALS.has(stopReason),
      };
    },
  };
}
