// Which model, key, endpoint and limits a template call uses, from the environment: each SDK's
// standard variables, keys from Secrets Manager in AWS (`*_API_KEY_SECRET_ARN`), a model per tier.
//   bedrock    AWS_REGION, AWS_ENDPOINT_URL_BEDROCK_RUNTIME, BEDROCK_MODEL_ID, BEDROCK_LARGE_MODEL_ID
//   anthropic  ANTHROPIC_API_KEY | ANTHROPIC_API_KEY_SECRET_ARN, ANTHROPIC_BASE_URL, ANTHROPIC_(LARGE_)MODEL_ID
//   openai     OPENAI_API_KEY | OPENAI_API_KEY_SECRET_ARN, OPENAI_BASE_URL, OPENAI_(LARGE_)MODEL_ID
//   all        CHAT2SVG_LLM_VISION, CHAT2SVG_LLM_TIMEOUT_MS, CHAT2SVG_LLM_MAX_ATTEMPTS, CHAT2SVG_LLM_BACKOFF_MS,
//              CHAT2SVG_LLM_BACKOFF_CAP_MS, CHAT2SVG_LLM_MAX_PROMPT_CHARS, CHAT2SVG_LLM_MAX_TOKENS, CHAT2SVG_LLM_PRICE
import { getSecret } from '@aws-lambda-powertools/parameters/secrets';
import type { BedrockRuntimeClientConfig } from '@aws-sdk/client-bedrock-runtime';
import { type Env, InvalidEnvError, intEnv, optionalEnv } from '#commons/env';
import { LLM_MODELS } from '#contracts/defaults';
import { anthropicAdapter } from './anthropic.ts';
import { bedrockAdapter } from './bedrock.ts';
import type { ClientSettings } from './client.ts';
import { TemplateNotConfiguredError } from './errors.ts';
import { openAiAdapter } from './openai.ts';
import type { ChatAdapter, ProviderName } from './types.ts';
import { VARIABLES } from './variables.ts';

/** USD per million input / output tokens, list prices; CHAT2SVG_LLM_PRICE overrides. */
const PRICES: [RegExp, number, number][] = [
  [/haiku-4-5|haiku-4\.5/, 1, 5],
  [/3-5-haiku/, 0.8, 4],
  [/3-haiku/, 0.25, 1.25],
  [/sonnet/, 3, 15],
  [/opus-4-[5-9]/, 5, 25],
  [/opus/, 15, 75],
  [/gpt-4o-mini/, 0.15, 0.6],
  [/gpt-4o/, 2.5, 10],
  [/gpt-4\.1-mini/, 0.4, 1.6],
  [/gpt-4\.1/, 2, 8],
];

export function modelFor(provider: ProviderName, useLargerModel: boolean, env: Env = process.env): string {
  const variable = VARIABLES[provider];
  const { standard, large } = LLM_MODELS[provider];
  return useLargerModel
    ? (optionalEnv(`${variable}_LARGE_MODEL_ID`, env) ?? optionalEnv(`${variable}_MODEL_ID`, env) ?? large)
    : (optionalEnv(`${variable}_MODEL_ID`, env) ?? standard);
}

export function priceFor(model: string, env: Env = process.env): ClientSettings['price'] {
  const raw = optionalEnv('CHAT2SVG_LLM_PRICE', env);
  if (raw !== undefined) {
    const [input, output] = raw.split(',').map(Number);
    if (!(input >= 0 && output >= 0))
      throw new InvalidEnvError('CHAT2SVG_LLM_PRICE', 'expected "input,output" USD');
    return { input, output };
  }
  const hit = PRICES.find(([pattern]) => pattern.test(model));
  return hit && { input: hit[1], output: hit[2] };
}

export function clientSettings(model: string, env: Env = process.env): ClientSettings {
  return {
    timeoutMs: intEnv('CHAT2SVG_LLM_TIMEOUT_MS', 45_000, env),
    maxAttempts: Math.max(1, intEnv('CHAT2SVG_LLM_MAX_ATTEMPTS', 3, env)),
    backoffBaseMs: intEnv('CHAT2SVG_LLM_BACKOFF_MS', 500, env),
    backoffCapMs: intEnv('CHAT2SVG_LLM_BACKOFF_CAP_MS', 8_000, env),
    maxPromptChars: intEnv('CHAT2SVG_LLM_MAX_PROMPT_CHARS', 60_000, env),
    price: priceFor(model, env),
  };
}

export const maxOutputTokens = (env: Env = process.env) => intEnv('CHAT2SVG_LLM_MAX_TOKENS', 4096, env);

/** How long a key read from Secrets Manager is reused before it is read again (a rotation takes effect). */
const SECRET_MAX_AGE_SECONDS = 300;

/** A secret holds the key itself or JSON with an `apiKey` (or `api_key`) field. */
async function apiKey(variable: string, env: Env): Promise<string | undefined> {
  const direct = optionalEnv(`${variable}_API_KEY`, env);
  if (direct !== undefined) return direct;
  const arn = optionalEnv(`${variable}_API_KEY_SECRET_ARN`, env);
  if (arn === undefined) return undefined;
  // Powertools Parameters caches the value per ARN for the life of the container.
  const text = String((await getSecret(arn, { maxAge: SECRET_MAX_AGE_SECONDS })) ?? '').trim();
  if (text.startsWith('{')) {
    const parsed = JSON.parse(text) as { apiKey?: string; api_key?: string };
    return parsed.apiKey ?? parsed.api_key ?? undefined;
  }
  return text || undefined;
}

/** The Bedrock client's region, endpoint and keys from the function's environment (the SDK's own names). */
function bedrockClientConfig(env: Env): BedrockRuntimeClientConfig {
  const accessKeyId = optionalEnv('AWS_ACCESS_KEY_ID', env);
  const secretAccessKey = optionalEnv('AWS_SECRET_ACCESS_KEY', env);
  return {
    region: optionalEnv('AWS_REGION', env) ?? optionalEnv('AWS_DEFAULT_REGION', env),
    endpoint: optionalEnv('AWS_ENDPOINT_URL_BEDROCK_RUNTIME', env) ?? optionalEnv('AWS_ENDPOINT_URL', env),
    credentials:
      accessKeyId && secretAccessKey
        ? { accessKeyId, secretAccessKey, sessionToken: optionalEnv('AWS_SESSION_TOKEN', env) }
        : undefined,
  };
}

function visionFlag(env: Env, fallback: boolean): boolean {
  const raw = optionalEnv('CHAT2SVG_LLM_VISION', env)?.toLowerCase();
  return raw === undefined ? fallback : raw === 'true' || raw === '1';
}

export async function createAdapter(
  provider: ProviderName,
  useLargerModel: boolean,
  env: Env = process.env,
): Promise<ChatAdapter> {
  const model = modelFor(provider, useLargerModel, env);
  if (provider === 'bedrock')
    return bedrockAdapter({ model, vision: visionFlag(env, true), clientConfig: bedrockClientConfig(env) });
  const variable = VARIABLES[provider];
  const baseURL = optionalEnv(`${variable}_BASE_URL`, env);
  // Self-hosted OpenAI-compatible servers often need no key, but the SDK insists on one.
  const key = (await apiKey(variable, env)) ?? (provider === 'openai' && baseURL ? 'unused' : undefined);
  if (key === undefined) {
    throw new TemplateNotConfiguredError(
      `${provider}: set ${variable}_API_KEY or ${variable}_API_KEY_SECRET_ARN`,
    );
  }
  if (provider === 'anthropic')
    return anthropicAdapter({ model, vision: visionFlag(env, true), apiKey: key, baseURL });
  // A custom endpoint may serve a text-only model: vision there is opt-in.
  return openAiAdapter({ model, vision: visionFlag(env, baseURL === undefined), apiKey: key, baseURL });
}
