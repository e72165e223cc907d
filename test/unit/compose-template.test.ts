import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { invocationContext } from '#commons/lambda';
import { PayloadRef } from '#contracts/schemas';
import { configFromEnv, makeHandler } from '#template/compose';

const handler = makeHandler(configFromEnv());
const logic = (event: unknown) => handler(event, invocationContext());

const event = {
  request: { prompt: "A dog wearing a chef's hat", style: '', tier: 'auto', seed: 0 },
  requestId: 'req-1',
};

describe('compose-template', () => {
  it('returns the composed SVG inline as utf8 with its byte count and sha256', async () => {
    const out = await logic(structuredClone(event));

    expect(PayloadRef.parse(out.svg)).toEqual(out.svg);
    if (!('inline' in out.svg)) throw new Error('expected an inline ref');
    expect(out.svg.encoding).toBe('utf8');
    expect(out.svg.mediaType).toBe('image/svg+xml');
    expect(out.svg.bytes).toBe(Buffer.byteLength(out.svg.inline, 'utf8'));
    expect(out.svg.sha256).toBe(createHash('sha256').update(out.svg.inline).digest('hex'));
    expect(out.svg.inline).toMatch(/^<svg [^>]*viewBox="0 0 512 512"/);
  });

  it('lists the objects it drew and counts them with the elements in metrics', async () => {
    const out = await logic(structuredClone(event));

    expect(out.objects).toEqual(['dog-face', 'chef-hat']);
    expect(out.metrics.objects).toBe(2);
    expect(out.metrics.elements).toBe(
      (out.svg as { inline: string }).inline.match(/ id="path_\d+"/g)?.length,
    );
    expect(out.durationMs).toBeGreaterThanOrEqual(0);
  });

  it('applies the request defaults when style and seed are left out', async () => {
    const out = await logic({ request: { prompt: 'a rocket' }, requestId: 'req-2' });

    expect(out.objects).toEqual(['rocket']);
  });

  it('rejects state data without a request as Input.Invalid', async () => {
    await expect(logic({ requestId: 'req-3' })).rejects.toMatchObject({ name: 'Input.Invalid' });
  });
});
