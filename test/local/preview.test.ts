// The CLI's PNG preview: rendered in a child process inside a pixel box and a time budget.
import { describe, expect, it } from 'vitest';
import { renderPreview } from '#local/preview';

const NS = 'xmlns="http://www.w3.org/2000/svg"';
const size = (png: Buffer) => [png.readUInt32BE(16), png.readUInt32BE(20)];

describe('renderPreview', () => {
  it('renders a drawing 512 px wide', async () => {
    const preview = await renderPreview(
      `<svg ${NS} viewBox="0 0 32 32"><circle cx="16" cy="16" r="8"/></svg>`,
    );

    expect('png' in preview && size(preview.png)).toEqual([512, 512]);
  });

  it('fits a very tall canvas into the pixel box instead of allocating it', async () => {
    const tall = await renderPreview(`<svg ${NS} viewBox="0 0 1 1000"><rect width="1" height="1000"/></svg>`);
    const absurd = await renderPreview(
      `<svg ${NS} viewBox="0 0 1 100000000"><rect width="1" height="1"/></svg>`,
    );

    expect('png' in tall && size(tall.png)).toEqual([2, 2048]);
    expect(absurd).toEqual({ skipped: expect.stringMatching(/too thin/) });
  });

  it('skips the preview when rendering runs past its time budget', async () => {
    let masks = '';
    for (let i = 0; i < 10; i++) {
      const next = i < 9 ? ` mask="url(#m${i + 1})"` : '';
      masks += `<mask id="m${i}"><rect width="64" height="64" fill="white"${next}/><rect width="9" height="9"${next}/></mask>`;
    }
    const slow = `<svg ${NS} viewBox="0 0 64 64">${masks}<rect width="64" height="64" mask="url(#m0)"/></svg>`;

    expect(await renderPreview(slow, { timeoutMs: 300 })).toEqual({
      skipped: expect.stringMatching(/longer than 300 ms/),
    });
  });
});
