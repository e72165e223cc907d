// The template stage's own overhead per call, model time excluded: the plan → draw → rectify
// flow over each provider SDK against a loopback server that answers at once with recorded
// answers. Covers SDK request building, loopback HTTP, SVG extraction, sanitizing, repair and the
// resvg render sent back for rectification.
//   npx tsx bench/template-stage.ts [iterations]
import { LlmClient } from '#template/llm/client';
import { runTemplateFlow } from '#template/llm/flow';
import { createAdapter } from '#template/llm/settings';
import { answer, FakeProvider, type Shape } from '../test/fixtures/llm/fake-server.ts';

const iterations = Number(process.argv[2] ?? 100);
const warmup = 10;
const fake = await FakeProvider.start();
const env = {
  AWS_ENDPOINT_URL_BEDROCK_RUNTIME: fake.url,
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'AKIDBENCH',
  AWS_SECRET_ACCESS_KEY: 'bench-secret',
  ANTHROPIC_API_KEY: 'bench-key',
  ANTHROPIC_BASE_URL: fake.url,
  OPENAI_API_KEY: 'bench-key',
  OPENAI_BASE_URL: `${fake.url}/v1`,
  CHAT2SVG_LLM_VISION: 'true',
};

const quantile = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
const rows: string[] = [];
for (const shape of ['bedrock', 'anthropic', 'openai'] as Shape[]) {
  const adapter = await createAdapter(shape, false, env);
  for (const rounds of [0, 1]) {
    const total: number[] = [];
    const render: number[] = [];
    for (let i = 0; i < warmup + iterations; i++) {
      const replies = [{ answer: answer('plan') }, { answer: answer('good-svg') }];
      if (rounds) replies.push({ answer: answer('rectified-svg') });
      fake.script(...replies);
      const client = new LlmClient(adapter, {
        timeoutMs: 10_000,
        maxAttempts: 1,
        backoffBaseMs: 0,
        backoffCapMs: 0,
        maxPromptChars: 60_000,
      });
      const started = performance.now();
      const { metrics } = await runTemplateFlow(client, {
        prompt: 'a red fox on a hill',
        style: '',
        rectifyRounds: rounds,
      });
      if (i >= warmup) {
        total.push(performance.now() - started);
        render.push(Number(metrics.renderMs));
      }
    }
    total.sort((a, b) => a - b);
    render.sort((a, b) => a - b);
    const calls = 2 + rounds;
    rows.push(
      `| ${shape} | ${rounds} | ${calls} | ${quantile(total, 0.5).toFixed(1)} | ${quantile(total, 0.95).toFixed(1)} | ${(quantile(total, 0.5) / calls).toFixed(1)} | ${quantile(render, 0.5)} |`,
    );
  }
}
await fake.close();

console.log(
  `Command: \`npx tsx bench/template-stage.ts ${iterations}\` (${iterations} runs after ${warmup} warm-up, Node ${process.version})\n`,
);
console.log(
  '| provider shape | rectify rounds | model calls | p50 ms | p95 ms | p50 ms per call | render p50 ms |',
);
console.log('|---|---|---|---|---|---|---|');
for (const row of rows) console.log(row);
