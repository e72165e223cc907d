// The synthesized state machine end to end on the local runtime: emulators, Lambda handlers
// in-process, container stages as run-local processes, faults injected per stage.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { afterEach, describe, expect, it } from 'vitest';
import { synthesizeTemplate } from '#local/definition';
import { detectCapabilities, type LocalRuntime } from '#local/runtime';
import {
  FAKE_STAGES_DIR,
  rendersAsSvg,
  SYNTH_TIMEOUT_MS,
  startTestRuntime,
  testDefinition,
} from '../support/local.ts';

const runtimes: LocalRuntime[] = [];
async function runtime(options: Parameters<typeof startTestRuntime>[0] = {}): Promise<LocalRuntime> {
  const started = await startTestRuntime(options);
  runtimes.push(started);
  return started;
}
afterEach(async () => {
  await Promise.all(runtimes.splice(0).map((r) => r.stop()));
});

function reportOf(
  stages: { name: string; status: string; reason: string; objects?: string[] }[],
  name: string,
) {
  const report = stages.find((stage) => stage.name === name);
  if (!report) throw new Error(`no report for ${name}`);
  return report;
}

async function breakerState(local: LocalRuntime, stage: string): Promise<string | undefined> {
  const table = local.definition.tables.find((t) => t.KeySchema[0].AttributeName === 'stage');
  const item = await local.emulators.dynamodb.send(
    new GetItemCommand({ TableName: table?.name, Key: { stage: { S: stage } }, ConsistentRead: true }),
  );
  return item.Item?.state?.S;
}

describe('the local runtime', { timeout: SYNTH_TIMEOUT_MS }, () => {
  it('runs the synthesized definition end to end to a valid SVG and a run report', async () => {
    const local = await runtime({ capabilities: ['optimize'], stagesDir: FAKE_STAGES_DIR });

    const { report, svg, statesEntered } = await local.generate({ prompt: 'a red fox' });

    expect(report.cache).toBe('miss');
    expect(report.stages.map((stage) => stage.name)).toEqual(['template', 'detail', 'optimize']);
    expect(reportOf(report.stages, 'optimize').status).toBe('ran');
    expect(reportOf(report.stages, 'template').objects).toEqual(expect.arrayContaining(['fox']));
    expect(local.calls.optimize).toBe(1);
    expect(statesEntered).toEqual(
      expect.arrayContaining(['Normalize', 'Assess', 'optimize.Run', 'Finalize']),
    );
    expect(rendersAsSvg(svg)).toBe(true);
    expect(report.output.bytes).toBe(Buffer.byteLength(svg));
    expect(report.timings.orchestrationMs).toBeLessThanOrEqual(report.timings.totalMs);
  });

  it('answers a repeated request from the cache without running any stage', async () => {
    const local = await runtime({ capabilities: ['optimize'], stagesDir: FAKE_STAGES_DIR });
    const first = await local.generate({ prompt: 'a paper boat', seed: 7 });
    const callsAfterFirst = { ...local.calls };

    const second = await local.generate({ prompt: 'a paper boat', seed: 7 });

    expect(first.report.cache).toBe('miss');
    expect(second.report.cache).toBe('hit');
    expect(local.calls).toEqual(callsAfterFirst);
    expect(second.statesEntered).toContain('ReturnCached');
    expect(second.statesEntered.filter((state) => /\.(Run|Compose|PrepareInput)$/.test(state))).toEqual([]);
    expect(second.svg).toBe(first.svg);
  });

  it('opens the breaker at the third failure, degrades without calling the stage, and closes after one probe', async () => {
    const local = await runtime({
      capabilities: ['optimize'],
      stagesDir: FAKE_STAGES_DIR,
      faults: { optimize: 'Stage.Failed' },
      env: { BREAKER_OPEN_SECONDS: '1' },
    });
    const request = (n: number) => ({ prompt: `a lighthouse, take ${n}` });

    for (const n of [1, 2, 3]) {
      const { report } = await local.generate(request(n));
      expect(reportOf(report.stages, 'optimize').status).toBe('degraded');
    }
    expect(local.calls.optimize).toBe(3);
    expect(await breakerState(local, 'optimize')).toBe('OPEN');

    const whileOpen = await local.generate(request(4));
    expect(local.calls.optimize).toBe(3);
    expect(reportOf(whileOpen.report.stages, 'optimize')).toMatchObject({
      status: 'degraded',
      reason: 'breaker open',
    });
    expect(rendersAsSvg(whileOpen.svg)).toBe(true);

    delete local.faults.optimize;
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const probe = await local.generate(request(5));
    expect(probe.statesEntered).toContain('optimize.TakeProbe');
    expect(reportOf(probe.report.stages, 'optimize').status).toBe('ran');
    expect(await breakerState(local, 'optimize')).toBe('CLOSED');

    const afterwards = await local.generate(request(6));
    expect(afterwards.statesEntered).not.toContain('optimize.TakeProbe');
    expect(local.calls.optimize).toBe(5);
  });

  it('ends every valid request with a valid SVG even when every stage fails', async () => {
    const local = await runtime({
      capabilities: ['detail', 'optimize'],
      stagesDir: FAKE_STAGES_DIR,
      faults: { template: 'Stage.Failed', detail: 'Stage.OutOfMemory', optimize: 'Stage.Timeout' },
    });

    const { report, svg } = await local.generate({ prompt: 'a castle on a hill', llm: 'anthropic' });

    expect(local.calls).toEqual({ template: 1, detail: 1, optimize: 1 });
    expect(report.stages.map((stage) => stage.status)).toEqual(['degraded', 'degraded', 'degraded']);
    expect(report.degraded).toBe(true);
    expect(rendersAsSvg(svg)).toBe(true);
  });

  it('skips a stage whose models are not published, with that reason, before any GPU work', async () => {
    const definition = await testDefinition();
    const assess = definition.functions.find((fn) => fn.entry === 'functions/assess-resources/handler.ts');
    const store = assess?.environment.MODEL_STORE_BUCKET;
    expect(store && definition.buckets).toContain(store);
    const local = await runtime({
      definition,
      capabilities: ['detail', 'optimize'],
      stagesDir: FAKE_STAGES_DIR,
      // As deployed: the assessment looks for detail's manifest in the (empty) model store.
      env: { MODEL_STORE_BUCKET: store as string },
    });

    const { report } = await local.generate({ prompt: 'a castle on a hill' });

    expect(local.calls.detail).toBe(0);
    expect(local.calls.optimize).toBe(1);
    expect(reportOf(report.stages, 'detail')).toMatchObject({
      status: 'skipped',
      reason: expect.stringMatching(
        /^detail skipped: its models are not published \(no s3:\/\/.+\/models\/detail\/manifest\.json/,
      ),
    });
  });

  it("reports the worker's own error name when run-local fails", async () => {
    const local = await runtime({
      capabilities: ['optimize'],
      stagesDir: FAKE_STAGES_DIR,
      env: { FAKE_STAGE_FAIL: 'Stage.OutOfMemory' },
    });

    const { report } = await local.generate({ prompt: 'a teapot' });

    expect(reportOf(report.stages, 'optimize')).toMatchObject({ status: 'degraded' });
    expect(reportOf(report.stages, 'optimize').reason).toContain('Stage.OutOfMemory');
  });

  it('fails a stage whose run-local is missing with Stage.Unavailable and still finishes', async () => {
    const local = await runtime({
      capabilities: ['optimize'],
      stagesDir: mkdtempSync(join(tmpdir(), 'chat2svg-no-stages-')),
    });

    const { report, svg } = await local.generate({ prompt: 'a bicycle' });

    expect(reportOf(report.stages, 'optimize').reason).toContain('Stage.Unavailable');
    expect(rendersAsSvg(svg)).toBe(true);
  });

  it.runIf(detectCapabilities().stages.includes('optimize'))(
    'runs the real optimize worker (stage-images/optimize/run-local) where this machine has it',
    async () => {
      const local = await runtime({ capabilities: ['optimize'] });

      const { report, svg } = await local.generate({ prompt: 'a green owl', tier: 'low' });

      expect(reportOf(report.stages, 'optimize').status).toBe('ran');
      expect(rendersAsSvg(svg)).toBe(true);
    },
  );

  it('stops an invalid request at Normalize with Request.Invalid', async () => {
    const local = await runtime();

    await expect(local.generate({ prompt: '' })).rejects.toMatchObject({ name: 'Request.Invalid' });
  });
});

describe('what the local runtime executes', { timeout: SYNTH_TIMEOUT_MS }, () => {
  it('is the definition CDK synthesizes, walked along its own transitions', async () => {
    const synthesized = await synthesizeTemplate();
    const local = await runtime({ capabilities: ['optimize'], stagesDir: FAKE_STAGES_DIR });

    const { statesEntered } = await local.generate({ prompt: 'a windmill' });

    expect(local.definition.definition).toEqual(synthesized.definition);
    const states = synthesized.definition.States;
    for (const [from, to] of statesEntered.slice(0, -1).map((state, i) => [state, statesEntered[i + 1]])) {
      const state = states[from];
      const targets = [
        state.Next,
        state.Default,
        ...((state.Choices ?? []) as { Next: string }[]).map((choice) => choice.Next),
        ...((state.Catch ?? []) as { Next: string }[]).map((catcher) => catcher.Next),
      ];
      expect(targets, `${from} → ${to}`).toContain(to);
    }
    expect(states[statesEntered.at(-1) as string].End).toBe(true);
  });

  it('changes with the CDK context: env=prod makes the template stage run its LLM', async () => {
    // Faulted so that no request leaves this machine; the call count shows whether Run was reached.
    // One runtime at a time: handlers share this process's environment.
    const faults = { detail: 'Stage.Failed' };
    const dev = await runtime({ context: { env: 'dev' }, faults });
    const devRun = await dev.generate({ prompt: 'a lantern' });
    await dev.stop();
    const prod = await runtime({ context: { env: 'prod' }, faults: { template: 'Stage.Failed' } });
    const prodRun = await prod.generate({ prompt: 'a lantern' });

    expect(dev.calls.template).toBe(0);
    expect(reportOf(devRun.report.stages, 'template').status).toBe('skipped');
    expect(prod.calls.template).toBe(1);
    expect(reportOf(prodRun.report.stages, 'template').status).toBe('degraded');
  });

  it('injects a template fault into the offline composer when it makes the template', async () => {
    const local = await runtime({ faults: { template: 'Stage.Failed' } });

    await expect(local.generate({ prompt: 'a lantern', llm: 'offline' })).rejects.toMatchObject({
      name: 'Stage.Failed',
      message: expect.stringMatching(/offline composer/),
    });
  });
});
