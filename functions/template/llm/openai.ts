// Any OpenAI-compatible chat-completions endpoint (OpenAI, vLLM, Ollama, LiteLLM…) through the
// official SDK. Text-only messages go as plain strings: some compatible servers reject part arrays.
import OpenAI from 'openai';
import type {
  ChatCompletionContentPart,
  ChatCompletionMessageParam,
} from 'openai/resources/chat/completions';
import type { ChatAdapter, ChatMessage, ChatRequest, ChatResponse } from './types.ts';

function toOpenAi(message: ChatMessage): ChatCompletionMessageParam {
  if (message.role === 'assistant' || message.content.every((part) => part.type === 'text')) {
    const text = message.content.map((part) => (part.type === 'text' ? part.text : '')).join('');
    return { role: message.role, content: text };
  }
  const parts: ChatCompletionContentPart[] = message.content.map((part) =>
    part.type === 'text'
      ? { type: 'text', text: part.text }
      : {
          type: 'image_url',
          image_url: { url: `data:image/png;base64,${Buffer.from(part.png).toString('base64')}` },
        },
  );
  return { role: 'user', content: parts };
}

export function openAiAdapter(options: {
  model: string;
  vision: boolean;
  apiKey: string;
  baseURL?: string;
}): ChatAdapter {
  const client = new OpenAI({ apiKey: options.apiKey, baseURL: options.baseURL, maxRetries: 0 });
  return {
    provider: 'openai',
    model: options.model,
    vision: options.vision,
    async send(request: ChatRequest, signal: AbortSignal): Promise<ChatResponse> {
      const out = await client.chat.completions.create(
        {
          model: options.model,
          max_tokens: request.maxTokens,
          messages: [{ role: 'system', content: request.system }, ...request.messages.map(toOpenAi)],
        },
        { signal },
      );
      const choice = out.choices[0];
      const refusal = choice?.message?.refusal;
      return {
        text: choice?.message?.content ?? '',
        inputTokens: out.usage?.prompt_tokens ?? 0,
        outputTokens: out.usage?.completion_tokens ?? 0,
        stopReason: choice?.finish_reason ?? 'unknown',
        refused: Boolean(refusal) || choice?.finish_reason === 'content_filter',
      };
    },
  };
}
