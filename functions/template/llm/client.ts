// Everything around one model call that does not depend on the API: the prompt-size cap,
// per-attempt timeouts, retries with backoff and full jitter, token and cost accounting.
import { setTimeout as delay } from 'node:timers/promises';
import {
  TemplatePromptTooLargeError,
  TemplateProviderError,
  TemplateThrottledError,
  TemplateTimeoutError,
  TemplateUnavailableError,
} from './errors.ts';
import type { ChatAdapter, ChatRequest, ChatResponse } from './types.ts';

export interface ClientSettings {
  /** Per attempt. */
  timeoutMs: number;
  maxAttempts: number;
  backoffBaseMs: number;
  backoffCapMs: number;
  /** Characters of text in system prompt and messages together. */
  maxPromptChars: number;
  /** USD per million tokens; undefined when the model's price is unknown. */
  price?: { input: number; output: number };
}

export interface Usage {
  calls: number;
  retries: number;
  inputTokens: number;
  outputTokens: number;
  /** Time spent waiting on the provider, retries and backoff included. */
  llmMs: number;
}

type Failure = 'timeout' | 'throttled' | 'unavailable' | 'client';

const THROTTLED = /throttl|rate.?limit|too.?many/i;
const UNAVAILABLE =
  /unavailable|overloaded|internal.?server|not.?ready|connection|econn|socket|network|fetch failed/i;

/** Sorts an SDK error (Bedrock, Anthropic, OpenAI all differ) into what retrying can fix. */
export function classify(error: unknown, timedOut: boolean): Failure {
  if (timedOut) return 'timeout';
  const e = error as {
    status?: number;
    name?: string;
    code?: string;
    $metadata?: { httpStatusCode?: number };
  };
  const status = e?.status ?? e?.$metadata?.httpStatusCode;
  const label = `${e?.name ?? ''} ${e?.code ?? ''} ${(error as Error)?.message ?? ''}`;
  if (status === 429 || THROTTLED.test(e?.name ?? '')) return 'throttled';
  // 408: Bedrock's ModelTimeoutException, the model side gave up; another try may well finish.
  if ((status !== undefined && (status >= 500 || status === 408)) || UNAVAILABLE.test(label))
    return 'unavailable';
  if (status === undefined && /timeout|timed out/i.test(label)) return 'timeout';
  return 'client';
}

function retryAfterMs(error: unknown): number {
  const headers = (error as { headers?: { get?: (name: string) => string | null } })?.headers;
  const raw = typeof headers?.get === 'function' ? headers.get('retry-after') : undefined;
  const seconds = raw ? Number(raw) : Number.NaN;
  return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : 0;
}

export function promptChars(request: ChatRequest): number {
  let chars = request.system.length;
  for (const message of request.messages)
    for (const part of message.content) if (part.type === 'text') chars += part.text.length;
  return chars;
}

export class LlmClient {
  readonly usage: Usage = { calls: 0, retries: 0, inputTokens: 0, outputTokens: 0, llmMs: 0 };

  constructor(
    readonly adapter: ChatAdapter,
    private readonly settings: ClientSettings,
    private readonly random: () => number = Math.random,
  ) {}

  get estimatedCostUsd(): number | undefined {
    const price = this.settings.price;
    if (price === undefined) return undefined;
    return (this.usage.inputTokens * price.input + this.usage.outputTokens * price.output) / 1e6;
  }

  /** `deadline` (epoch ms) bounds every attempt and every backoff wait. */
  async complete(request: ChatRequest, deadline = Number.POSITIVE_INFINITY): Promise<ChatResponse> {
    const chars = promptChars(request);
    if (chars > this.settings.maxPromptChars) {
      throw new TemplatePromptTooLargeError(
        `prompt is ${chars} characters, over the ${this.settings.maxPromptChars} cap`,
      );
    }
    const started = performance.now();
    this.usage.calls += 1;
    try {
      for (let attempt = 1; ; attempt++) {
        const budget = Math.min(this.settings.timeoutMs, deadline - Date.now());
        if (budget <= 0) throw new TemplateTimeoutError('the template stage ran out of time');
        const controller = new AbortController();
        const timer = setTimeout(() => controller.abort(), budget);
        try {
          const response = await this.adapter.send(request, controller.signal);
          this.usage.inputTokens += response.inputTokens;
          this.usage.outputTokens += response.outputTokens;
          return response;
        } catch (error) {
          const failure = classify(error, controller.signal.aborted);
          const wait = Math.min(
            this.settings.backoffCapMs,
            Math.max(retryAfterMs(error), this.random() * this.settings.backoffBaseMs * 2 ** (attempt - 1)),
          );
          const retryable = failure !== 'client' && attempt < this.settings.maxAttempts;
          if (!retryable || Date.now() + wait >= deadline) throw this.named(failure, error, attempt, budget);
          this.usage.retries += 1;
          await delay(wait);
        } finally {
          clearTimeout(timer);
        }
      }
    } finally {
      this.usage.llmMs += performance.now() - started;
    }
  }

  private named(failure: Failure, cause: unknown, attempts: number, budget: number): Error {
    const where = `${this.adapter.provider} ${this.adapter.model}`;
    const detail = String((cause as Error)?.message ?? cause).slice(0, 300);
    switch (failure) {
      case 'timeout':
        return new TemplateTimeoutError(`${where}: no answer within ${budget} ms (attempt ${attempts})`, {
          cause,
        });
      case 'throttled':
        return new TemplateThrottledError(`${where}: throttled after ${attempts} attempts: ${detail}`, {
          cause,
        });
      case 'unavailable':
        return new TemplateUnavailableError(`${where}: unavailable after ${attempts} attempts: ${detail}`, {
          cause,
        });
      default:
        return new TemplateProviderError(`${where}: ${detail}`, { cause });
    }
  }
}
