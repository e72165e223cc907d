import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { classify } from '#template/llm/client';
import { clientSettings, createAdapter, modelFor, priceFor } from '#template/llm/settings';

// Secrets Manager has no local emulator here; the mock only stands in for GetSecretValue.
const secrets = mockClient(SecretsManagerClient);
afterEach(() => secrets.reset());

describe('model per tier', () => {
  it('uses the larger model when the plan asks for it, the configured ids first', () => {
    const env = { BEDROCK_MODEL_ID: 'std', BEDROCK_LARGE_MODEL_ID: 'big' };
    expect(modelFor('bedrock', false, env)).toBe('std');
    expect(modelFor('bedrock', true, env)).toBe('big');
    expect(modelFor('anthropic', true, {})).toBe('claude-sonnet-4-5');
    expect(modelFor('openai', true, { OPENAI_MODEL_ID: 'llama3.1' })).toBe('llama3.1');
  });
});

describe('prices and limits', () => {
  it('knows list prices by model family and takes an override', () => {
    expect(priceFor('us.anthropic.claude-haiku-4-5-20251001-v1:0', {})).toEqual({ input: 1, output: 5 });
    expect(priceFor('gpt-4o-mini', {})).toEqual({ input: 0.15, output: 0.6 });
    expect(priceFor('llama3.1:8b', {})).toBeUndefined();
    expect(priceFor('llama3.1:8b', { CHAT2SVG_LLM_PRICE: '0,0' })).toEqual({ input: 0, output: 0 });
    expect(() => priceFor('x', { CHAT2SVG_LLM_PRICE: 'cheap' })).toThrow(/CHAT2SVG_LLM_PRICE/);
  });

  it('reads timeouts, attempts and the prompt cap from the environment', () => {
    const settings = clientSettings('gpt-4o', {
      CHAT2SVG_LLM_TIMEOUT_MS: '1000',
      CHAT2SVG_LLM_MAX_PROMPT_CHARS: '500',
    });
    expect(settings).toMatchObject({ timeoutMs: 1000, maxAttempts: 3, maxPromptChars: 500 });
  });
});

describe('keys', () => {
  it('reads an API key from Secrets Manager when only its ARN is set', async () => {
    secrets.on(GetSecretValueCommand).resolves({ SecretString: '{"apiKey":"sk-from-secret"}' });
    const arn = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:anthropic-AbCdEf';
    const adapter = await createAdapter('anthropic', false, {
      AWS_REGION: 'us-east-1',
      ANTHROPIC_API_KEY_SECRET_ARN: arn,
    });
    expect(adapter.provider).toBe('anthropic');
    expect(secrets.commandCalls(GetSecretValueCommand)[0].args[0].input).toEqual({ SecretId: arn });
  });

  it('says Template.NotConfigured when there is no key', async () => {
    await expect(createAdapter('openai', false, {})).rejects.toMatchObject({
      name: 'Template.NotConfigured',
    });
  });

  it('needs no key for a self-hosted OpenAI-compatible server, and assumes it text-only', async () => {
    const adapter = await createAdapter('openai', false, { OPENAI_BASE_URL: 'http://127.0.0.1:11434/v1' });
    expect(adapter.vision).toBe(false);
  });
});

describe('classify', () => {
  it('sorts SDK errors into what a retry can fix', () => {
    expect(classify({ name: 'ThrottlingException', $metadata: { httpStatusCode: 429 } }, false)).toBe(
      'throttled',
    );
    expect(classify({ status: 529, name: 'InternalServerError' }, false)).toBe('unavailable');
    expect(classify({ name: 'ModelNotReadyException', $metadata: { httpStatusCode: 429 } }, false)).toBe(
      'throttled',
    );
    expect(classify(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), false)).toBe(
      'unavailable',
    );
    expect(classify({ name: 'ModelTimeoutException', $metadata: { httpStatusCode: 408 } }, false)).toBe(
      'unavailable',
    );
    expect(classify({ status: 400, name: 'BadRequestError' }, false)).toBe('client');
    expect(classify(new Error('aborted'), true)).toBe('timeout');
  });
});
