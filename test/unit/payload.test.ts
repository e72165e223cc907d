import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeInline, putPayload, readPayload, refSize, sha256Hex } from '#commons/payload';
import type { PayloadRef } from '#contracts/schemas';
import { fitsTransport, GPU_BACKENDS, TRANSPORTS, transportSize } from '#contracts/transports';
import { BUCKET, type Storage, startStorage } from './support/storage.ts';

const VECTORS = new URL('../../stage-images/worker/tests/vectors/payload-ref/valid/', import.meta.url);
const SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><rect width="5" height="5" fill="#f00"/></svg>';

describe('inline encoding', () => {
  it('keeps small text as utf8', () => {
    const ref = encodeInline(SVG, 'image/svg+xml', 1024);

    expect(ref).toMatchObject({
      encoding: 'utf8',
      inline: SVG,
      bytes: 106,
      sha256: sha256Hex(Buffer.from(SVG)),
    });
  });

  it('gzips text that only fits compressed', () => {
    const svg = `<svg>${'<path d="M0 0 L10 10"/>'.repeat(400)}</svg>`;

    const ref = encodeInline(svg, 'image/svg+xml', 2048);

    expect(ref?.encoding).toBe('gzip+base64');
    expect(refSize(ref as PayloadRef)).toBeLessThanOrEqual(2048);
  });

  it('uses base64 for binary media', () => {
    const png = randomBytes(64);

    expect(encodeInline(png, 'image/png', 1024)?.encoding).toBe('base64');
  });

  it('returns nothing when no encoding fits the budget', () => {
    expect(encodeInline(randomBytes(4096), 'image/png', 1024)).toBeUndefined();
  });

  it('measures the budget on the serialized ref, escapes included', () => {
    const quoted = '"'.repeat(500);

    const ref = encodeInline(quoted, 'text/plain', 700);

    expect(ref?.encoding).toBe('gzip+base64');
  });

  it.each(readdirSync(VECTORS).filter((name) => name.startsWith('inline')))(
    'decodes the shared vector %s to the bytes it names',
    async (name) => {
      const ref = JSON.parse(readFileSync(new URL(name, VECTORS), 'utf8'));

      expect((await readPayload(ref)).toString('utf8')).toBe(SVG);
    },
  );

  it.each([
    ['a wrong sha256', { sha256: '0'.repeat(64) }, /sha256/],
    ['a wrong byte count', { bytes: 105 }, /105/],
    ['an encoding that does not decode', { encoding: 'gzip+base64' }, /does not decode/],
  ])('refuses a ref with %s', async (_name, change, message) => {
    const ref = { ...(encodeInline(SVG, 'image/svg+xml', 1024) as PayloadRef), ...change };

    await expect(readPayload(ref)).rejects.toMatchObject({
      name: 'Payload.Integrity',
      message: expect.stringMatching(message),
    });
  });

  it('reads gzip written by other tools', async () => {
    const data = Buffer.from(SVG);
    const ref = {
      inline: gzipSync(data).toString('base64'),
      encoding: 'gzip+base64',
      mediaType: 'image/svg+xml',
      bytes: data.length,
      sha256: sha256Hex(data),
    };

    expect((await readPayload(ref)).equals(data)).toBe(true);
  });
});

describe('S3 spill', () => {
  let storage: Storage;
  beforeAll(async () => {
    storage = await startStorage();
  });
  afterAll(async () => {
    await storage?.stop();
  });

  it('puts what does not fit under runs/<requestId>/<stage>/<name> and reads it back', async () => {
    const { s3 } = storage.emulators;
    const png = randomBytes(20_000);

    const ref = await putPayload(png, 'image/png', 6 * 1024, {
      s3,
      bucket: BUCKET,
      requestId: 'req-1',
      stage: 'detail',
      name: 'target.png',
    });

    expect(ref).toEqual({
      s3: { bucket: BUCKET, key: 'runs/req-1/detail/target.png' },
      mediaType: 'image/png',
      bytes: 20_000,
      sha256: sha256Hex(png),
    });
    expect((await readPayload(ref, s3)).equals(png)).toBe(true);
  });

  it('refuses an S3 object whose bytes changed since the ref was made', async () => {
    const { s3 } = storage.emulators;
    const target = { s3, bucket: BUCKET, requestId: 'req-2', stage: 'detail', name: 'target.png' };
    const ref = await putPayload(randomBytes(9000), 'image/png', 100, target);
    await putPayload(randomBytes(9000), 'image/png', 100, target);

    await expect(readPayload(ref, s3)).rejects.toMatchObject({ name: 'Payload.Integrity' });
  });

  it('fails with Payload.TooLarge when there is no bucket to spill to', async () => {
    const target = {
      s3: storage.emulators.s3,
      bucket: undefined,
      requestId: 'req-3',
      stage: 'detail',
      name: 'x',
    };

    await expect(putPayload(randomBytes(9000), 'image/png', 100, target)).rejects.toMatchObject({
      name: 'Payload.TooLarge',
    });
  });

  describe.each(GPU_BACKENDS)('at the %s backend limit, token included', (backend) => {
    // Random bytes: gzip never makes them smaller, so a ref that does not fit as base64 goes to S3.
    const overhead = transportSize(backend, encodeInline(Buffer.alloc(0), 'application/x-', Infinity));
    const data = randomBytes(Math.floor(((TRANSPORTS[backend].limitBytes - overhead - 40) * 3) / 4));
    /** A media type padded so that the base64 ref makes a request of exactly `bytes`. */
    const mediaTypeFor = (bytes: number) => {
      const bare = transportSize(backend, encodeInline(data, 'application/x-', Infinity));
      const pad = bytes - bare;
      expect(pad).toBeGreaterThan(0);
      expect(pad).toBeLessThanOrEqual(80);
      return `application/x-${'p'.repeat(pad)}`;
    };
    const put = (mediaType: string) =>
      putPayload(data, mediaType, (ref) => fitsTransport(backend, ref), {
        s3: storage.emulators.s3,
        bucket: BUCKET,
        requestId: `req-${backend}`,
        stage: 'detail',
        name: 'input.bin',
      });

    it('goes inline one byte under and exactly at the limit', async () => {
      for (const bytes of [TRANSPORTS[backend].limitBytes - 1, TRANSPORTS[backend].limitBytes]) {
        const ref = await put(mediaTypeFor(bytes));
        expect('inline' in ref && ref.encoding).toBe('base64');
        expect(transportSize(backend, ref)).toBe(bytes);
      }
    });

    it('goes to S3 one byte over the limit', async () => {
      const ref = await put(mediaTypeFor(TRANSPORTS[backend].limitBytes + 1));
      expect('s3' in ref && ref.s3.key).toBe(`runs/req-${backend}/detail/input.bin`);
    });
  });
});
