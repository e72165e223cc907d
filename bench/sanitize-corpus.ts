// The sanitizer over every legitimate drawing we have (the hand-written fixtures and all Fluent
// Emoji Flat icons): render before and after with resvg and count pixel-equal results, plus the
// sanitizer's time per document. Also runs the XSS corpus: how many vectors throw Svg.Invalid.
//   npx tsx bench/sanitize-corpus.ts
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Resvg } from '@resvg/resvg-js';
import { sanitizeSvg } from '#commons/sanitize';

const FIXTURES = join(import.meta.dirname, '../test/fixtures/svg-xss');
const read = (dir: string) =>
  readdirSync(join(FIXTURES, dir)).map((f) => readFileSync(join(FIXTURES, dir, f), 'utf8'));
const render = (svg: string) => new Resvg(svg, { fitTo: { mode: 'original' } }).render().pixels;
function psnr(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) return 0;
  let se = 0;
  for (let i = 0; i < a.length; i++) se += (a[i] - b[i]) ** 2;
  return se === 0 ? Number.POSITIVE_INFINITY : 10 * Math.log10((255 * 255) / (se / a.length));
}

const icons = createRequire(import.meta.url)('@iconify-json/fluent-emoji-flat/icons.json') as {
  icons: Record<string, { body: string }>;
};
const legit = read('legit');
for (const { body } of Object.values(icons.icons)) {
  legit.push(
    `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="128" height="128" viewBox="0 0 32 32">${body}</svg>`,
  );
}
let equal = 0;
let minPsnr = Number.POSITIVE_INFINITY;
const times: number[] = [];
for (const svg of legit) {
  const started = performance.now();
  const out = sanitizeSvg(svg);
  times.push(performance.now() - started);
  const p = psnr(render(svg), render(out.svg));
  if (p === Number.POSITIVE_INFINITY) equal += 1;
  else minPsnr = Math.min(minPsnr, p);
}
times.sort((a, b) => a - b);

const vectors = read('vectors');
let refused = 0;
for (const svg of vectors) {
  try {
    sanitizeSvg(svg);
  } catch {
    refused += 1;
  }
}

console.log('Command: `npx tsx bench/sanitize-corpus.ts`\n');
console.log('| corpus | documents | result |');
console.log('|---|---|---|');
console.log(
  `| legitimate drawings | ${legit.length} | ${equal} pixel-equal after sanitizing${equal < legit.length ? `; lowest PSNR ${minPsnr.toFixed(1)} dB` : ''} |`,
);
console.log(
  `| sanitizer time | ${legit.length} | p50 ${times[Math.floor(times.length / 2)].toFixed(2)} ms, p95 ${times[Math.floor(times.length * 0.95)].toFixed(2)} ms |`,
);
console.log(
  `| XSS vectors | ${vectors.length} | ${refused} refused (Svg.Invalid), ${vectors.length - refused} cleaned |`,
);
