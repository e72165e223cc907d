// The one chat interface the template flow talks to; each provider adapter maps it onto its API.

export type ProviderName = 'bedrock' | 'anthropic' | 'openai';

export type ChatPart = { type: 'text'; text: string } | { type: 'image'; png: Uint8Array };

export interface ChatMessage {
  role: 'user' | 'assistant';
  content: ChatPart[];
}

export interface ChatRequest {
  system: string;
  messages: ChatMessage[];
  maxTokens: number;
}

export interface ChatResponse {
  text: string;
  inputTokens: number;
  outputTokens: number;
  /** The provider's own words: end_turn, stop, max_tokens, refusal, content_filter… */
  stopReason: string;
  /** True when the provider itself flagged the answer as a refusal. */
  refused: boolean;
}

/** One attempt against one API; retries, timeouts and accounting live in LlmClient. */
export interface ChatAdapter {
  readonly provider: ProviderName;
  readonly model: string;
  /** Whether the model takes image input (visual rectification needs it). */
  readonly vision: boolean;
  send(request: ChatRequest, signal: AbortSignal): Promise<ChatResponse>;
}

export const textOf = (message: ChatMessage): string =>
  message.content.map((part) => (part.type === 'text' ? part.text : '')).join('');
