// The template flow over each provider's real SDK against a scripted loopback server.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LlmClient } from '#template/llm/client';
import { runTemplateFlow } from '#template/llm/flow';
import { createAdapter } from '#template/llm/settings';
import { answer, FakeProvider, type Recorded, type Shape } from '../fixtures/llm/fake-server.ts';

let fake: FakeProvider;

beforeAll(async () => {
  fake = await FakeProvider.start();
});

afterAll(async () => {
  await fake.close();
});

interface Options {
  vision?: boolean;
  timeoutMs?: number;
  maxAttempts?: number;
  maxPromptChars?: number;
}

async function clientFor(shape: Shape, options: Options = {}): Promise<LlmClient> {
  const env = {
    // The settings pass the SDK's own variable names on to the Bedrock client.
    AWS_ENDPOINT_URL_BEDROCK_RUNTIME: fake.url,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'AKIDLOCALTEST',
    AWS_SECRET_ACCESS_KEY: 'local-test-secret',
    ANTHROPIC_API_KEY: 'test-key',
    ANTHROPIC_BASE_URL: fake.url,
    OPENAI_API_KEY: 'test-key',
    OPENAI_BASE_URL: `${fake.url}/v1`,
    CHAT2SVG_LLM_VISION: String(options.vision ?? true),
  };
  return new LlmClient(await createAdapter(shape, false, env), {
    timeoutMs: options.timeoutMs ?? 5_000,
    maxAttempts: options.maxAttempts ?? 3,
    backoffBaseMs: 5,
    backoffCapMs: 20,
    maxPromptChars: options.maxPromptChars ?? 60_000,
    price: { input: 1, output: 5 },
  });
}

const flow = (client: LlmClient, rectifyRounds = 0) =>
  runTemplateFlow(client, { prompt: 'a red fox on a hill', style: 'flat', rectifyRounds });

/** The PNG bytes a request carried, in whichever shape its API puts images. */
function imageOf(request: Recorded): Buffer | undefined {
  const messages = request.body.messages as { content: unknown }[];
  const last = messages[messages.length - 1].content;
  if (!Array.isArray(last)) return undefined;
  type Part = {
    type?: string;
    image?: { source: { bytes: string } };
    source?: { data: string };
    image_url?: { url: string };
  };
  for (const part of last as Part[]) {
    if (part.image) return Buffer.from(part.image.source.bytes, 'base64');
    if (part.source) return Buffer.from(part.source.data, 'base64');
    if (part.image_url) return Buffer.from(part.image_url.url.split(',')[1], 'base64');
  }
  return undefined;
}
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a failure');
}

describe.each(['bedrock', 'anthropic', 'openai'] as const)('template flow on %s', (shape) => {
  it('plans, draws, then rectifies from the rendered PNG', async () => {
    fake.script(
      { answer: answer('plan') },
      { answer: answer('good-svg') },
      { answer: answer('rectified-svg') },
    );
    const { svg, metrics } = await flow(await clientFor(shape), 1);
    expect(svg).toContain('id="path_12"');
    expect(fake.requests.map((r) => r.shape)).toEqual([shape, shape, shape]);
    expect(JSON.stringify(fake.requests[1].body)).toContain('grassy hill'); // the plan is in the draw call
    const png = imageOf(fake.requests[2]);
    expect(png?.subarray(0, 8)).toEqual(PNG_SIGNATURE);
    expect(imageOf(fake.requests[1])).toBeUndefined();
    expect(metrics).toMatchObject({
      provider: shape,
      calls: 3,
      rectifyRoundsDone: 1,
      rectify: 'done',
      shapes: 13,
    });
    expect(metrics.inputTokens).toBeGreaterThan(0);
    expect(metrics.outputTokens).toBeGreaterThan(0);
    expect(metrics.estimatedCostUsd).toBeGreaterThan(0);
  });

  it('finds an SVG wrapped in prose and keeps only template shapes', async () => {
    fake.script({ answer: answer('plan') }, { answer: answer('prose-wrapped') });
    const { svg, metrics } = await flow(await clientFor(shape));
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg" viewBox="0 0 512 512"/);
    expect(svg).not.toMatch(/script|onclick/);
    expect(metrics).toMatchObject({ shapes: 4, repairs: 0, calls: 2 });
  });

  it('asks once more after a malformed SVG and uses the repaired answer', async () => {
    fake.script(
      { answer: answer('plan') },
      { answer: answer('malformed-svg') },
      { answer: answer('good-svg') },
    );
    const { metrics } = await flow(await clientFor(shape));
    expect(metrics).toMatchObject({ repairs: 1, calls: 3, shapes: 12 });
    expect(JSON.stringify(fake.requests[2].body)).toContain('could not be used: the SVG is cut off');
    expect(JSON.stringify(fake.requests[2].body)).toContain('use fewer, simpler shapes');
  });

  it('throws Template.InvalidSvg when the repair round is malformed too', async () => {
    fake.script(
      { answer: answer('plan') },
      { answer: answer('malformed-svg') },
      { answer: answer('malformed-svg') },
    );
    const error = await failure(flow(await clientFor(shape)));
    expect(error.name).toBe('Template.InvalidSvg');
    expect(error.message).toMatch(/after one repair round/);
  });

  it('throws Template.Refused when the provider flags a refusal', async () => {
    fake.script({ answer: answer('plan') }, { fixture: 'refusal' });
    expect((await failure(flow(await clientFor(shape)))).name).toBe('Template.Refused');
  });

  it('treats a refusal in prose as an answer without an SVG', async () => {
    fake.script({ answer: answer('plan') }, { answer: answer('refusal') }, { answer: answer('refusal') });
    const error = await failure(flow(await clientFor(shape)));
    expect(error.name).toBe('Template.InvalidSvg');
    expect(error.message).toMatch(/no <svg>/);
  });

  it('retries a 429 and goes on', async () => {
    fake.script({ fixture: 'throttling' }, { answer: answer('plan') }, { answer: answer('good-svg') });
    const { metrics } = await flow(await clientFor(shape));
    expect(metrics).toMatchObject({ retries: 1, calls: 2 });
    expect(fake.requests).toHaveLength(3);
  });

  it('retries an overloaded or 5xx answer', async () => {
    fake.script({ fixture: 'unavailable' }, { answer: answer('plan') }, { answer: answer('good-svg') });
    expect((await flow(await clientFor(shape))).metrics.retries).toBe(1);
  });

  it('gives up with Template.Throttled after the last attempt', async () => {
    fake.script({ fixture: 'throttling' }, { fixture: 'throttling' });
    const error = await failure(flow(await clientFor(shape, { maxAttempts: 2 })));
    expect(error.name).toBe('Template.Throttled');
    expect(fake.requests).toHaveLength(2);
  });

  it('does not retry an authorization error', async () => {
    fake.script({ fixture: 'access-denied' }, { answer: answer('plan') });
    expect((await failure(flow(await clientFor(shape)))).name).toBe('Template.ProviderError');
    expect(fake.requests).toHaveLength(1);
  });

  it('times out a call that never answers, on every attempt', async () => {
    fake.script({ hang: true }, { hang: true });
    const started = Date.now();
    const error = await failure(flow(await clientFor(shape, { timeoutMs: 150, maxAttempts: 2 })));
    expect(error.name).toBe('Template.Timeout');
    expect(fake.requests).toHaveLength(2);
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it('keeps the drawn SVG when a rectification round keeps failing', async () => {
    fake.script(
      { answer: answer('plan') },
      { answer: answer('good-svg') },
      { fixture: 'throttling' },
      { fixture: 'throttling' },
    );
    const { svg, metrics } = await flow(await clientFor(shape, { maxAttempts: 2 }), 2);
    expect(svg).toContain('id="path_11"');
    expect(svg).not.toContain('id="path_12"');
    expect(metrics).toMatchObject({ rectify: 'stopped: Template.Throttled', rectifyRoundsDone: 0 });
  });

  it('skips rectification on a text-only model and says so', async () => {
    fake.script({ answer: answer('plan') }, { answer: answer('good-svg') });
    const { metrics } = await flow(await clientFor(shape, { vision: false }), 2);
    expect(metrics).toMatchObject({ rectify: 'skipped: text-only provider', rectifyRounds: 2, calls: 2 });
  });

  it('refuses a prompt over the size cap before sending it', async () => {
    fake.script({ answer: answer('plan') });
    const error = await failure(flow(await clientFor(shape, { maxPromptChars: 100 })));
    expect(error.name).toBe('Template.PromptTooLarge');
    expect(fake.requests).toHaveLength(0);
  });
});
