import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { invocationContext } from '#commons/lambda';
import { encodeInline, readPayload } from '#commons/payload';
import { StageInput } from '#contracts/schemas';
import { TIERS } from '#contracts/tiers';
import { fitsTransport, GPU_BACKENDS, TRANSPORTS, transportSize } from '#contracts/transports';
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
  it('builds the StageInput inline as utf8 when it fits the RunTask overrides', async () => {
    const { ref } = await logic(structuredClone(fixture));

    expect('inline' in ref && ref.encoding).toBe('utf8');
    expect(fitsTransport('task', ref)).toBe(true);
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
    expect(fitsTransport('task', ref)).toBe(true);
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

  it('allows the larger SubmitJob request when the backend is batch', async () => {
    const event = { ...structuredClone(fixture), backend: 'batch' };
    event.current.target = encodeInline(randomBytes(7000), 'image/png', 100_000);

    const { ref } = await logic(event);

    expect('inline' in ref).toBe(true);
    expect(transportSize('batch', ref)).toBeLessThanOrEqual(TRANSPORTS.batch.limitBytes);
  });

  const noise = (length: number) =>
    Array.from(randomBytes(length), (byte) => String.fromCharCode(0x30 + (byte % 0x2a))).join('');

  describe.each(GPU_BACKENDS)('on the %s backend', (backend) => {
    const text = noise(40_000);
    const eventWith = (chars: number) => {
      const event = { ...structuredClone(fixture), backend };
      event.current.svg = encodeInline(text.slice(0, chars), 'image/svg+xml', 1_000_000);
      return event;
    };
    /** Bytes the service would receive were the StageInput for `chars` inline as utf8. */
    const requestSize = async (chars: number) => {
      const { ref } = await logic(eventWith(chars));
      const json = (await readPayload(ref, storage.emulators.s3)).toString('utf8');
      return transportSize(backend, { ...encodeInline(json, 'application/json', Infinity) });
    };
    /** Padding whose request is exactly `bytes` long (each character adds one byte). */
    const charsFor = async (bytes: number) => {
      let chars = 100;
      for (let i = 0; i < 5; i++) {
        const size = await requestSize(chars);
        if (size === bytes) return chars;
        chars += bytes - size;
      }
      throw new Error(`no padding gives a ${backend} request of ${bytes} bytes`);
    };

    it('keeps a StageInput inline when the request is exactly at the limit', async () => {
      const limit = TRANSPORTS[backend].limitBytes;
      const chars = await charsFor(limit);

      const { ref } = await logic(eventWith(chars));

      expect('inline' in ref && ref.encoding).toBe('utf8');
      expect(transportSize(backend, ref)).toBe(limit);
    });

    it('leaves utf8 for a StageInput one byte over the limit', async () => {
      const limit = TRANSPORTS[backend].limitBytes;
      const chars = await charsFor(limit + 1);

      const { ref } = await logic(eventWith(chars));

      // Compressed when that fits, else in S3 (payload.test.ts has the exact S3 boundary).
      expect('inline' in ref && ref.encoding).not.toBe('utf8');
      if ('inline' in ref) expect(fitsTransport(backend, ref)).toBe(true);
    });
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
