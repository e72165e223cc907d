import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { invocationContext } from '#commons/lambda';
import { encodeInline, readPayload, refSize } from '#commons/payload';
import { BUDGETS, StageInput } from '#contracts/schemas';
import { TIERS } from '#contracts/tiers';
import { makeHandler } from '#functions/prepare-stage-input';
import { BUCKET, type Storage, startStorage } from './support/storage.ts';

const fixture = JSON.parse(
  readFileSync(new URL('../events/stepfunctions/prepare-detail.json', import.meta.url), 'utf8'),
);

let storage: Storage;
let handler: ReturnType<typeof makeHandler>;
const logic = (event: unknown) => handler(event, invocationContext());

beforeAll(async () => {
  storage = await startStorage();
  handler = makeHandler({ bucket: BUCKET }, storage.deps);
});
afterAll(async () => {
  await storage?.stop();
});

async function stageInputOf(ref: unknown) {
  return StageInput.parse(JSON.parse((await readPayload(ref, storage.emulators.s3)).toString('utf8')));
}

describe('prepare-stage-input', () => {
  it('builds the StageInput inline as utf8 when it fits the RunTask budget', async () => {
    const { ref } = await logic(structuredClone(fixture));

    expect('inline' in ref && ref.encoding).toBe('utf8');
    expect(refSize(ref)).toBeLessThanOrEqual(BUDGETS.ecsStageInput);
    expect(await stageInputOf(ref)).toEqual({
      schemaVersion: 1,
      requestId: 'exec-prepare-1',
      stage: 'detail',
      prompt: 'a red fox sitting under a tree',
      style: 'flat',
      seed: 7,
      config: fixture.config,
      svg: fixture.current.svg,
    });
  });

  it('gzips a StageInput that only fits compressed', async () => {
    const event = structuredClone(fixture);
    const svg = `<svg xmlns="http://www.w3.org/2000/svg">${'<path d="M 10 10 L 20 20 L 30 10 Z" fill="#ff6600"/>'.repeat(150)}</svg>`;
    event.current.svg = encodeInline(svg, 'image/svg+xml', 100_000);

    const { ref } = await logic(event);

    expect('inline' in ref && ref.encoding).toBe('gzip+base64');
    expect(refSize(ref)).toBeLessThanOrEqual(BUDGETS.ecsStageInput);
    expect((await stageInputOf(ref)).svg).toEqual(event.current.svg);
  });

  it('puts a StageInput that does not fit to S3 under runs/<requestId>/<stage>/input.json', async () => {
    const event = structuredClone(fixture);
    event.stage = 'optimize';
    event.config = { ...TIERS.medium.optimize };
    event.current.target = encodeInline(randomBytes(7000), 'image/png', 100_000);

    const { ref } = await logic(event);

    expect('s3' in ref && ref.s3).toEqual({ bucket: BUCKET, key: 'runs/exec-prepare-1/optimize/input.json' });
    const input = await stageInputOf(ref);
    expect(input.target).toEqual(event.current.target);
    expect(input.config).toEqual(TIERS.medium.optimize);
  });

  it('allows the larger Batch budget when the transport is batch', async () => {
    const event = { ...structuredClone(fixture), transport: 'batch' };
    event.current.target = encodeInline(randomBytes(7000), 'image/png', 100_000);

    const { ref } = await logic(event);

    expect('inline' in ref).toBe(true);
    expect(refSize(ref)).toBeLessThanOrEqual(BUDGETS.batchStageInput);
  });

  it.each([
    ['a config of the other stage', { config: TIERS.medium.optimize }, /numInferenceSteps/],
    ['the template stage', { stage: 'template' }, /stage/],
    ['a current result without an svg', { current: {} }, /current\.svg/],
  ])('rejects %s with Input.Invalid', async (_name, change, message) => {
    const event = { ...structuredClone(fixture), ...change };

    await expect(logic(event)).rejects.toMatchObject({
      name: 'Input.Invalid',
      message: expect.stringMatching(message),
    });
  });
});
