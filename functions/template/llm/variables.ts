// The template's settings by name: which environment variables configure each LLM provider. Kept
// apart from settings.ts so that a caller needing only the names (the local runtime, serve) does
// not load every provider's SDK.
import { type Env, optionalEnv } from '#commons/env';
import type { ProviderName } from './types.ts';

/** Prefix of each provider's variables (`<PREFIX>_MODEL_ID`, `<PREFIX>_API_KEY`, …). */
export const VARIABLES: Record<ProviderName, string> = {
  bedrock: 'BEDROCK',
  anthropic: 'ANTHROPIC',
  openai: 'OPENAI',
};

/**
 * The template settings a developer sets in their shell (keys, endpoints, models of every provider,
 * CHAT2SVG_LLM_*), for a local runtime to hand to the template handler as Lambda configuration
 * would. AWS credentials are not among them: they reach a handler only where a run asks for them.
 */
export function llmVariables(env: Env): Record<string, string> {
  const prefixes = [...Object.values(VARIABLES).map((prefix) => `${prefix}_`), 'CHAT2SVG_LLM_'];
  return Object.fromEntries(
    Object.entries(env).filter(
      (entry): entry is [string, string] =>
        entry[1] !== undefined && prefixes.some((prefix) => entry[0].startsWith(prefix)),
    ),
  );
}

/**
 * The key-based providers this environment can call: a key (or its secret) is set, or, for openai,
 * a custom endpoint that may need none. Bedrock depends on AWS credentials, which the caller knows.
 */
export function keyedProviders(env: Env = process.env): ProviderName[] {
  return (['anthropic', 'openai'] as const).filter((provider) => {
    const variable = VARIABLES[provider];
    return (
      optionalEnv(`${variable}_API_KEY`, env) !== undefined ||
      optionalEnv(`${variable}_API_KEY_SECRET_ARN`, env) !== undefined ||
      (provider === 'openai' && optionalEnv(`${variable}_BASE_URL`, env) !== undefined)
    );
  });
}
