// Fuzzes the sanitizer (and the template extraction in front of it) with generated hostile SVG and
// mutated real drawings; counts crashes (any error but Svg.Invalid), hangs (an input over 1 s),
// survivors (anything dangerous in an output, checked by an independent walker) and outputs whose
// preview does not render inside its budget.
//   npx tsx bench/fuzz.ts [documents=20000] [seed=1]
import { createRequire } from 'node:module';
import { SaxesParser } from 'saxes';
import { SvgInvalidError, sanitizeSvg } from '#commons/sanitize';
import { renderPreview } from '#local/preview';
import { extractSvg } from '#template/llm/template-svg';
import { CSS_FUNCTIONS, cssFunctionNames, SAFE_ELEMENTS } from '../test/support/svg-checklist.ts';

const total = Number(process.argv[2] ?? 20_000);
let state = Number(process.argv[3] ?? 1) >>> 0;
/** mulberry32: a seeded generator, so a run can be repeated. */
function random(): number {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
const int = (n: number) => Math.floor(random() * n);

// biome-ignore format: packed lists read better
const ELEMENTS = ['g', 'rect', 'circle', 'path', 'text', 'tspan', 'use', 'image', 'mask', 'clipPath', 'filter',
  'feGaussianBlur', 'feImage', 'pattern', 'marker', 'symbol', 'style', 'script', 'foreignObject', 'a', 'animate',
  'set', 'iframe', 'svg', 'svg:rect', 'x:script', 'html:script', 'defs', 'linearGradient', 'stop', 'title'];
// biome-ignore format: packed lists read better
const ATTRIBUTES = ['id', 'href', 'xlink:href', 'style', 'fill', 'stroke', 'mask', 'filter', 'clip-path',
  'onload', 'onclick', 'OnError', 'transform', 'd', 'x', 'width', 'height', 'viewBox', 'class', 'marker-end',
  'stdDeviation', 'filterUnits', 'xml:base', 'attributeName', 'to', 'values', 'begin', 'font-family', 'src'];
// biome-ignore format: packed lists read better
const VALUES = ['#a', '#b', '#c', 'url(#a)', "url('#b')", 'url(https://x.example/p)', 'url(//x.example/p)',
  'javascript:alert(1)', ' jav&#x09;ascript:alert(1)', 'data:image/svg+xml;base64,PHN2Zz4=',
  'data:image/png;base64,iVBORw0KGgo=', 'image-set("https://x.example/a" 1x)', '-webkit-image-set(url(x) 1x)',
  'expression(alert(1))', 'red', '#ff0000', 'rgb(1,2,3)', 'var(--x)', 'attr(x)', 'u\\72l(http://x)',
  'url(#a) ; background:url(http://x)', 'behavior:url(x.htc)', 'fill:red;mask:url(http://x)', '1e9', '-1',
  '0 0 1 100000000', '0 0 100 100', 'translate(1 2) scale(1e300)', 'M0 0 L10 10 Z', '9999999', 'alert(1)',
  '</style><script>alert(1)</script>', '{}', '@import url(x)', 'userSpaceOnUse', '100%', '10000%'];
const CSS = [
  'rect{fill:url(https://x)}',
  '@import url(//x);',
  '.a{fill:blue}',
  '*{behavior:url(x)}',
  '.a{mask:image-set("//x" 1x)}',
  '@font-face{src:url(//x)}',
  '.b{fill:\\75rl(//x)}',
  'g>.a{fill:red}',
];

function element(depth: number): string {
  const name = pick(ELEMENTS);
  const attrs = Array.from({ length: int(4) }, () => {
    const value = pick(VALUES).replace(/"/g, '&quot;');
    return ` ${pick(ATTRIBUTES)}="${value}"`;
  }).join('');
  if (name === 'style')
    return `<style>${Array.from({ length: 1 + int(3) }, () => pick(CSS)).join('')}</style>`;
  if (depth > 6 || random() < 0.4) return `<${name}${attrs}/>`;
  const children = Array.from({ length: int(4) }, () => element(depth + 1)).join('');
  const text =
    random() < 0.2 ? pick(['&lt;script&gt;', '<![CDATA[<script>x</script>]]>', '<!-- --><b>']) : '';
  return `<${name}${attrs}>${text}${children}</${name}>`;
}

/** Reference chains and fan-out: what render bombs are made of. */
function chain(): string {
  const kind = pick(['mask', 'filter', 'use', 'pattern', 'marker'] as const);
  const levels = 2 + int(14);
  let defs = '';
  for (let i = 0; i < levels; i++) {
    const next = i + 1 < levels ? `#l${i + 1}` : '';
    const ref =
      kind === 'use'
        ? ` href="${next || '#z'}"`
        : next
          ? ` ${kind === 'marker' ? 'marker-end' : kind === 'pattern' ? 'fill' : kind}="url(${next})"`
          : '';
    const child = `<rect width="9" height="9"${ref}/>`.repeat(1 + int(3));
    defs += kind === 'use' ? `<g id="l${i}">${child}</g>` : `<${kind} id="l${i}">${child}</${kind}>`;
  }
  return `<defs>${defs}<rect id="z" width="1" height="1"/></defs><rect width="9" height="9" ${kind === 'use' ? 'href' : 'mask'}="url(#l0)"/><use href="#l0"/>`;
}

const icons = createRequire(import.meta.url)('@iconify-json/fluent-emoji-flat/icons.json') as {
  icons: Record<string, { body: string }>;
};
const bodies = Object.values(icons.icons).map((icon) => icon.body);
function mutated(): string {
  let svg = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">${pick(bodies)}</svg>`;
  for (let i = 0, n = 1 + int(6); i < n; i++) {
    const at = int(svg.length);
    const edit = int(3);
    const piece = random() < 0.5 ? element(5) : pick(VALUES);
    svg =
      edit === 0
        ? svg.slice(0, at) + piece + svg.slice(at)
        : edit === 1
          ? svg.slice(0, at) + svg.slice(at + int(20))
          : svg.slice(0, at) + pick(['"', '<', '>', '&', ':', '(', ')']) + svg.slice(at + 1);
  }
  return svg;
}

function document(): string {
  const roll = random();
  if (roll < 0.3) return mutated();
  const root = random() < 0.1 ? `viewBox="${pick(VALUES)}"` : 'viewBox="0 0 64 64"';
  const prolog =
    random() < 0.05
      ? '<!DOCTYPE svg [<!ENTITY x "y">]>'
      : random() < 0.05
        ? '<?xml-stylesheet href="//x"?>'
        : '';
  const body = roll < 0.5 ? chain() : Array.from({ length: 1 + int(5) }, () => element(0)).join('');
  const svg = `${prolog}<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" ${root}>${body}</svg>`;
  // Some arrive the way a model answers: in prose or a code fence.
  return random() < 0.1 ? `Here it is:\n\`\`\`svg\n${svg}\n\`\`\`\nEnjoy <svg:g>` : svg;
}

// ---- an independent check of an output, sharing nothing with the sanitizer's lists ----------
function dangers(svg: string): string[] {
  const found: string[] = [];
  if (/<!|<\?/.test(svg)) found.push('markup declaration');
  const parser = new SaxesParser({ xmlns: true });
  parser.on('opentag', (tag) => {
    if (tag.uri !== 'http://www.w3.org/2000/svg' || !SAFE_ELEMENTS.has(tag.local))
      found.push(`<${tag.name}>`);
    for (const attr of Object.values(tag.attributes)) {
      if (attr.prefix === 'xmlns' || attr.name === 'xmlns') continue;
      const flat = [...attr.value]
        .filter((c) => c.charCodeAt(0) > 0x20)
        .join('')
        .toLowerCase();
      if (attr.local.toLowerCase().startsWith('on')) found.push(`@${attr.name}`);
      if (/javascript:|vbscript:|expression|behavior|binding|@import|\/\//.test(flat))
        found.push(`@${attr.name}=${flat}`);
      for (const m of flat.matchAll(/data:[^,;]*/g))
        if (!/^data:image\/(png|jpeg|gif|webp)$/.test(m[0])) found.push(m[0]);
      for (const name of cssFunctionNames(attr.value))
        if (!CSS_FUNCTIONS.includes(name)) found.push(`${name}()`);
      for (const m of flat.matchAll(/url\(([^)]*)\)/g)) if (!/^['"]?#/.test(m[1])) found.push(`url(${m[1]})`);
    }
  });
  parser.write(svg).close();
  return found;
}

const started = performance.now();
const counts = {
  tried: 0,
  refused: 0,
  cleaned: 0,
  crashes: 0,
  hangs: 0,
  survivors: 0,
  unstable: 0,
  rendered: 0,
  renderSkipped: 0,
};
const examples: string[] = [];
let slowest = 0;
const toRender: string[] = [];
for (let i = 0; i < total; i++) {
  const input = document();
  counts.tried += 1;
  const t0 = performance.now();
  try {
    const svg = input.includes('```') || !input.trimStart().startsWith('<') ? extractSvg(input) : input;
    const out = sanitizeSvg(svg).svg;
    counts.cleaned += 1;
    const found = dangers(out);
    if (found.length) {
      counts.survivors += 1;
      if (examples.length < 5) examples.push(`survivor ${found.join(', ')}: ${out.slice(0, 300)}`);
    }
    if (sanitizeSvg(out).svg !== out) counts.unstable += 1;
    if (counts.cleaned % 20 === 0) toRender.push(out);
  } catch (error) {
    const name = (error as Error).name;
    if (error instanceof SvgInvalidError || name === 'Template.InvalidSvg') counts.refused += 1;
    else {
      counts.crashes += 1;
      if (examples.length < 5) examples.push(`crash ${name}: ${(error as Error).message.slice(0, 200)}`);
    }
  }
  const ms = performance.now() - t0;
  slowest = Math.max(slowest, ms);
  if (ms > 1000) counts.hangs += 1;
}
const sanitizeSeconds = (performance.now() - started) / 1000;
// Every 20th cleaned output through the CLI's preview renderer, in budget or skipped.
for (const svg of toRender) {
  const preview = await renderPreview(svg, { timeoutMs: 5000 });
  if ('png' in preview) counts.rendered += 1;
  else counts.renderSkipped += 1;
}

console.log(`Command: \`npx tsx bench/fuzz.ts ${total} ${process.argv[3] ?? 1}\`\n`);
console.log(
  '| inputs tried | refused (Svg.Invalid) | cleaned | crashes | hangs (> 1 s) | dangerous survivors | not idempotent | previews rendered / skipped by budget |',
);
console.log('|---|---|---|---|---|---|---|---|');
console.log(
  `| ${counts.tried} | ${counts.refused} | ${counts.cleaned} | ${counts.crashes} | ${counts.hangs} | ${counts.survivors} | ${counts.unstable} | ${counts.rendered} / ${counts.renderSkipped} |`,
);
console.log(
  `\nslowest input ${slowest.toFixed(1)} ms; sanitizing took ${sanitizeSeconds.toFixed(1)} s, ${(performance.now() - started) / 1000 - sanitizeSeconds > 0 ? ((performance.now() - started) / 1000 - sanitizeSeconds).toFixed(1) : 0} s rendering`,
);
for (const example of examples) console.log(`- ${example}`);
