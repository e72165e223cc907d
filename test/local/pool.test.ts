// The warm pool with the real Python workers: tiny random-weight detail models and the optimize
// rasterizer on the CPU, two warm workers per stage, eight requests at once. The requests go to the
// pool directly with a light config (the tier matrix's steps and SAM points take minutes per
// request on a shared 2-core CPU); the state machine's use of the pool is covered by serve.test.ts.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeInline, readPayload } from '#commons/payload';
import { BUDGETS, StageOutput } from '#contracts/schemas';
import { REPO_ROOT } from '#local/definition';
import { detectCapabilities } from '#local/runtime';
import { createStageWorkers, type StageWorkers } from '#local/workers';
import { rendersAsSvg } from '../support/local.ts';

const modelDir = mkdtempSync(join(tmpdir(), 'chat2svg-tiny-models-'));
const python = detectCapabilities(REPO_ROOT, {}).missing.optimize === undefined;
let workers: StageWorkers;

const TEMPLATE =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64"><rect x="8" y="8" width="30" height="30" fill="#c33"/><circle cx="44" cy="40" r="14" fill="#36c"/></svg>';

function stageInput(stage: 'detail' | 'optimize', i: number, svg: unknown, config: Record<string, unknown>) {
  return Buffer.from(
    JSON.stringify({
      schemaVersion: 1,
      requestId: `pool-${i}`,
      stage,
      prompt: `shapes ${i}`,
      style: '',
      seed: i,
      config,
      svg,
    }),
  );
}

beforeAll(() => {
  if (!python) return;
  execFileSync(join(REPO_ROOT, 'stage-images/detail/tiny-models'), [modelDir], { stdio: 'ignore' });
  workers = createStageWorkers({
    mode: 'pool',
    perStage: 2,
    stagesDir: join(REPO_ROOT, 'stage-images'),
    env: () => ({ ...process.env, MODEL_DIR: modelDir }),
  });
}, 300_000);
afterAll(async () => {
  await workers?.stop();
  rmSync(modelDir, { recursive: true, force: true });
});

describe.skipIf(!python)('the warm worker pool', { timeout: 1_200_000 }, () => {
  it('runs 8 concurrent requests on 2 detail and 2 optimize workers that each load their models once', async () => {
    const svg = encodeInline(Buffer.from(TEMPLATE), 'image/svg+xml', BUDGETS.ecsStageInput);
    const detailConfig = { numInferenceSteps: 2, strength: 0.5, guidanceScale: 6, samPointsPerSide: 4 };
    const optimizeConfig = { iterations: 20, learningRate: 0.01, optForSize: true, optForQuality: true };

    const outputs = await Promise.all(
      Array.from({ length: 8 }, async (_, i) => {
        const detail = StageOutput.parse(
          await workers.run('detail', stageInput('detail', i, svg, detailConfig), 600_000),
        );
        const input = JSON.parse(stageInput('optimize', i, detail.svg, optimizeConfig).toString());
        input.target = detail.target;
        return StageOutput.parse(await workers.run('optimize', Buffer.from(JSON.stringify(input)), 600_000));
      }),
    );

    for (const output of outputs)
      expect(rendersAsSvg((await readPayload(output.svg)).toString('utf8'))).toBe(true);
    const all = workers.workers();
    const byStage = (stage: string) => all.filter((worker) => worker.stage === stage);
    expect(byStage('detail')).toHaveLength(2);
    expect(byStage('optimize')).toHaveLength(2);
    expect(all.reduce((sum, worker) => sum + worker.handled, 0)).toBe(16);
    for (const worker of byStage('detail')) expect(worker.modelLoads).toEqual({ sdxl: 1, sam: 1 });
    for (const worker of byStage('optimize')) expect(worker.modelLoads).toEqual({ rasterizer: 1 });
  });
});
