import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { breakerSignals, staticSignals } from '#functions/assess-resources/signals';

describe('assessment signals from the environment', () => {
  it('reads capabilities, provider and GPU load', () => {
    const env = {
      STAGE_CAPABILITIES: ' optimize ,detail',
      CHAT2SVG_LLM: 'anthropic',
      GPU_FREE_SLOTS: '0',
      GPU_QUEUE_DEPTH: 'unknown',
    };

    expect(staticSignals(env)).toEqual({
      containerStages: ['optimize', 'detail'],
      defaultLlm: 'anthropic',
      gpu: { freeSlots: 0, queueDepth: undefined },
      timeoutsSeconds: { template: 120, detail: 900, optimize: 600 },
    });
  });

  it('means nothing runs and nothing is known when nothing is set', () => {
    expect(staticSignals({})).toEqual({
      containerStages: [],
      defaultLlm: undefined,
      gpu: { freeSlots: undefined, queueDepth: undefined },
      timeoutsSeconds: { template: 120, detail: 900, optimize: 600 },
    });
  });

  it('falls back to DEFAULT_LLM_PROVIDER', () => {
    expect(staticSignals({ DEFAULT_LLM_PROVIDER: 'openai' }).defaultLlm).toBe('openai');
  });

  it.each([
    ['an unknown stage', { STAGE_CAPABILITIES: 'detail,render' }, 'STAGE_CAPABILITIES'],
    ['an unknown provider', { CHAT2SVG_LLM: 'llama' }, 'CHAT2SVG_LLM'],
    ['a bad GPU count', { GPU_FREE_SLOTS: 'many' }, 'GPU_FREE_SLOTS'],
  ])('fails the cold start on %s', (_name, env, variable) => {
    expect(() => staticSignals(env)).toThrow(
      expect.objectContaining({ name: 'Config.InvalidEnv', variable }),
    );
  });
});

describe('breaker signals', () => {
  it('plans without breakers when the table cannot be read', async () => {
    const unreachable = new DynamoDBClient({
      endpoint: 'http://127.0.0.1:9',
      region: 'us-east-1',
      credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
      maxAttempts: 1,
    });
    const errors: unknown[] = [];

    const breakers = await breakerSignals(unreachable, 'breakers', (error) => errors.push(error));
    unreachable.destroy();

    expect(breakers).toEqual({});
    expect(errors).toHaveLength(1);
  });
});
