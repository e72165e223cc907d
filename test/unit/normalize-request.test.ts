import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { invocationContext } from '#commons/lambda';
import { configFromEnv, makeHandler } from '#functions/normalize-request/handler';

const handler = makeHandler(configFromEnv({}));
const logic = (event: unknown) => handler(event, invocationContext());

const fixture = JSON.parse(
  readFileSync(new URL('../events/stepfunctions/generation-request.json', import.meta.url), 'utf8'),
);
const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('normalize-request', () => {
  it('returns the validated request with defaults, a request id and a cache key', async () => {
    const event = { prompt: '  a red fox  ' };

    const out = await logic(event);

    expect(out.request).toEqual({ prompt: 'a red fox', style: '', tier: 'auto', seed: 0 });
    expect(out.requestId).toMatch(UUID_V4);
    expect(out.cacheKey).toMatch(/^[0-9a-f]{64}$/);
  });

  it('takes the request id from the execution name when the Task passes it', async () => {
    const event = { request: structuredClone(fixture), executionName: 'exec-2026-11-27_01' };

    const out = await logic(event);

    expect(out.requestId).toBe('exec-2026-11-27_01');
    expect(out.request).toEqual(fixture);
  });

  it("reads the request out of the API's caller envelope and keeps the caller out of its output", async () => {
    const event = {
      request: { caller: 'arn:aws:iam::111122223333:user/alice', request: { prompt: 'a fox' } },
      executionName: 'req-1',
    };

    const out = await logic(event);

    expect(out.request).toEqual({ prompt: 'a fox', style: '', tier: 'auto', seed: 0 });
    expect(JSON.stringify(out)).not.toContain('alice');
  });

  it('falls back to a UUID when the execution name is not a safe key segment', async () => {
    const out = await logic({ request: structuredClone(fixture), executionName: '../../etc' });

    expect(out.requestId).toMatch(UUID_V4);
  });

  it('gives equal requests the same cache key whatever their key order and defaults', async () => {
    const a = await logic({ prompt: 'a red fox', seed: 0, tier: 'auto' });
    const b = await logic({ tier: 'auto', prompt: 'a red fox', style: '' });

    expect(a.cacheKey).toBe(b.cacheKey);
    expect(a.requestId).not.toBe(b.requestId);
  });

  it.each([
    ['seed', { seed: 8 }],
    ['style', { style: 'line art' }],
    ['tier', { tier: 'high' }],
    ['provider', { llm: 'offline' }],
  ])('gives a request with another %s another cache key', async (_name, change) => {
    const base = await logic(structuredClone(fixture));

    const other = await logic({ ...structuredClone(fixture), ...change });

    expect(other.cacheKey).not.toBe(base.cacheKey);
  });

  it.each([
    ['an empty prompt', { prompt: '   ' }, /prompt: prompt must not be empty/],
    ['an unknown field', { prompt: 'fox', colour: 'red' }, /colour/],
    ['a negative seed', { prompt: 'fox', seed: -1 }, /seed/],
    ['an unknown tier', { prompt: 'fox', tier: 'ultra' }, /tier/],
    ['no object at all', 'a red fox', /\(root\)/],
  ])('rejects %s with Request.Invalid', async (_name, event, message) => {
    await expect(logic(event)).rejects.toMatchObject({
      name: 'Request.Invalid',
      message: expect.stringMatching(message),
    });
  });

  it('keeps the error name through the middy handler, for Step Functions Catch', async () => {
    const context = invocationContext({ functionName: 'normalize' });

    await expect(handler({ prompt: '' }, context)).rejects.toMatchObject({ name: 'Request.Invalid' });
  });
});
