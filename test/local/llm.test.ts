// The LLM template path through the synthesized state machine, for each provider API shape, against
// a scripted provider on loopback: plan → draw → rectify, and the offline composer when it fails.
import { afterEach, describe, expect, it } from 'vitest';
import type { LlmProvider } from '#contracts/schemas';
import type { LocalRuntime } from '#local/runtime';
import { answer, FakeProvider } from '../fixtures/llm/fake-server.ts';
import { rendersAsSvg, SYNTH_TIMEOUT_MS, startTestRuntime } from '../support/local.ts';

const opened: { stop(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((item) => item.stop()));
});

function providerEnv(shape: LlmProvider, url: string): Record<string, string> {
  const common = { CHAT2SVG_LLM_BACKOFF_MS: '5', CHAT2SVG_LLM_TIMEOUT_MS: '2000' };
  if (shape === 'anthropic') return { ...common, ANTHROPIC_API_KEY: 'test-key', ANTHROPIC_BASE_URL: url };
  if (shape === 'openai') return { ...common, OPENAI_API_KEY: 'test-key', OPENAI_BASE_URL: `${url}/v1` };
  return { ...common, AWS_ENDPOINT_URL_BEDROCK_RUNTIME: url };
}

async function start(shape: LlmProvider, url: string): Promise<LocalRuntime> {
  const runtime = await startTestRuntime({ capabilities: [], env: providerEnv(shape, url) });
  opened.push(runtime);
  return runtime;
}

describe('the LLM template through the state machine', { timeout: SYNTH_TIMEOUT_MS }, () => {
  it.each(['bedrock', 'anthropic', 'openai'] as const)(
    'runs the %s API shape: plan, draw and rectify make the template',
    async (shape) => {
      const fake = await FakeProvider.start();
      opened.push({ stop: () => fake.close() });
      fake.script(
        { answer: answer('plan') },
        { answer: answer('good-svg') },
        { answer: answer('rectified-svg') },
      );
      const local = await start(shape, fake.url);

      const { report, svg } = await local.generate({
        prompt: 'a red fox on a hill',
        llm: shape,
        tier: 'medium',
      });

      const template = report.stages.find((stage) => stage.name === 'template');
      expect(template).toMatchObject({ status: 'ran', metrics: { provider: shape } });
      expect(fake.requests.length).toBeGreaterThanOrEqual(2);
      expect(fake.requests.every((request) => request.shape === shape)).toBe(true);
      expect(rendersAsSvg(svg)).toBe(true);
    },
  );

  it('takes the provider settings from the shell, as `chat2svg generate --llm openai` does', async () => {
    const fake = await FakeProvider.start();
    opened.push({ stop: () => fake.close() });
    fake.script(
      { answer: answer('plan') },
      { answer: answer('good-svg') },
      { answer: answer('rectified-svg') },
    );
    const shell = providerEnv('openai', fake.url);
    const saved = structuredClone(process.env);
    Object.assign(process.env, shell);
    let local: LocalRuntime;
    try {
      local = await startTestRuntime({ capabilities: [] });
    } finally {
      for (const name of Object.keys(shell)) if (saved[name] === undefined) delete process.env[name];
      Object.assign(process.env, saved);
    }
    opened.push(local);

    const { report } = await local.generate({ prompt: 'a red fox on a hill', llm: 'openai', tier: 'medium' });

    expect(report.stages.find((stage) => stage.name === 'template')).toMatchObject({ status: 'ran' });
    expect(fake.requests.length).toBeGreaterThanOrEqual(2);
  });

  it('degrades to the offline composer when the provider keeps failing, and still returns an SVG', async () => {
    const fake = await FakeProvider.start();
    opened.push({ stop: () => fake.close() });
    fake.script({ fixture: 'unavailable' }, { fixture: 'unavailable' }, { fixture: 'unavailable' });
    const local = await start('anthropic', fake.url);

    const { report, svg } = await local.generate({ prompt: 'a red fox on a hill', llm: 'anthropic' });

    const template = report.stages.find((stage) => stage.name === 'template');
    expect(template?.status).toBe('degraded');
    expect(template?.reason).toMatch(/^Template\./);
    expect(template?.objects).toEqual(expect.arrayContaining(['fox']));
    expect(report.degraded).toBe(true);
    expect(rendersAsSvg(svg)).toBe(true);
  });
});
