import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { invocationContext } from '#commons/lambda';
import { sanitizeSvg } from '#commons/sanitize';
import { InlinePayloadRef } from '#contracts/schemas';
import { configFromEnv, makeHandler } from '#template/generate';
import { answer, FakeProvider } from '../fixtures/llm/fake-server.ts';

let fake: FakeProvider;
let handler: ReturnType<typeof makeHandler>;
const logic = (event: unknown, context = invocationContext()) => handler(event, context);

// What the state machine's template.Run passes (infra/stacks: stageRequest('template') + provider).
const EVENT = {
  stage: 'template',
  requestId: 'req-0001',
  request: { prompt: 'a red fox on a hill', style: 'flat', tier: 'auto', seed: 0 },
  config: { useLargerModel: false, rectifyRounds: 1 },
  provider: 'anthropic',
};

beforeAll(async () => {
  fake = await FakeProvider.start();
  const config = configFromEnv({
    ANTHROPIC_API_KEY: 'test-key',
    ANTHROPIC_BASE_URL: fake.url,
    CHAT2SVG_LLM_BACKOFF_MS: '5',
  });
  handler = makeHandler(config);
});

afterAll(async () => {
  await fake.close();
});

describe('generate-template handler', () => {
  it('returns the rectified template inline with metrics and its duration', async () => {
    fake.script(
      { answer: answer('plan') },
      { answer: answer('good-svg') },
      { answer: answer('rectified-svg') },
    );
    const out = await logic(structuredClone(EVENT));
    const ref = InlinePayloadRef.parse(out.svg);
    expect(ref).toMatchObject({ encoding: 'utf8', mediaType: 'image/svg+xml' });
    const bytes = Buffer.from(ref.inline, 'utf8');
    expect(ref.bytes).toBe(bytes.length);
    expect(ref.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(sanitizeSvg(ref.inline).removed).toEqual([]); // finalize will find nothing to remove
    expect(out.metrics).toMatchObject({
      provider: 'anthropic',
      model: 'claude-haiku-4-5',
      rectifyRoundsDone: 1,
      shapes: 13,
    });
    expect(out.durationMs).toBeGreaterThanOrEqual(0);
  });

  it('accepts the event without the stage field', async () => {
    fake.script({ answer: answer('plan') }, { answer: answer('good-svg') });
    const { stage: _stage, ...event } = structuredClone(EVENT);
    const out = await logic({ ...event, config: { useLargerModel: false, rectifyRounds: 0 } });
    expect(out.metrics.calls).toBe(2);
  });

  it('rejects state data that does not match the contract as Input.Invalid', async () => {
    const event: Record<string, unknown> = structuredClone(EVENT);
    delete event.config;
    await expect(logic(event)).rejects.toMatchObject({ name: 'Input.Invalid' });
  });

  it('says Template.NotConfigured when the plan names the offline composer', async () => {
    await expect(logic({ ...structuredClone(EVENT), provider: 'offline' })).rejects.toMatchObject({
      name: 'Template.NotConfigured',
    });
  });

  it('stops waiting on the model when the Lambda is about to time out', async () => {
    fake.script({ hang: true }, { hang: true }, { hang: true });
    const started = Date.now();
    const context = { ...invocationContext(), getRemainingTimeInMillis: () => 5_300 }; // 300 ms after the reserve
    await expect(logic(structuredClone(EVENT), context)).rejects.toMatchObject({
      name: 'Template.Timeout',
    });
    expect(Date.now() - started).toBeLessThan(2_000);
  });
});
