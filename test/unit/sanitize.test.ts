import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Resvg } from '@resvg/resvg-js';
import fc from 'fast-check';
import { SaxesParser } from 'saxes';
import { describe, expect, it } from 'vitest';
import { SvgInvalidError, sanitizeSvg } from '#commons/sanitize';
import { CSS_FUNCTIONS, cssFunctionNames, SAFE_ELEMENTS } from '../support/svg-checklist.ts';

const FIXTURES = join(import.meta.dirname, '../fixtures/svg-xss');
const read = (dir: string) =>
  readdirSync(join(FIXTURES, dir))
    .filter((f) => f.endsWith('.svg'))
    .map((f) => [f, readFileSync(join(FIXTURES, dir, f), 'utf8')] as const);

const CSS_UNITS = [
  'px',
  'em',
  'ex',
  'pt',
  'pc',
  'cm',
  'mm',
  'in',
  'rem',
  '%',
  'deg',
  'grad',
  'rad',
  'turn',
  'e',
];
function assertNeutral(svg: string): void {
  expect(svg).not.toMatch(/<!|<\?/); // no doctype, comment, CDATA or processing instruction
  const parser = new SaxesParser({ xmlns: true });
  parser.on('opentag', (tag) => {
    expect(tag.uri).toBe('http://www.w3.org/2000/svg');
    expect(SAFE_ELEMENTS.has(tag.local)).toBe(true);
    for (const attr of Object.values(tag.attributes)) {
      expect(attr.local.toLowerCase().startsWith('on')).toBe(false);
      if (attr.prefix === 'xmlns' || attr.name === 'xmlns') continue;
      expect(['', 'http://www.w3.org/1999/xlink', 'http://www.w3.org/XML/1998/namespace']).toContain(
        attr.uri,
      );
      // Browsers ignore control characters and whitespace inside a scheme.
      const flat = [...attr.value]
        .filter((c) => c.charCodeAt(0) > 0x20)
        .join('')
        .toLowerCase();
      expect(flat).not.toMatch(/javascript:|vbscript:|expression\(|@import|-moz-binding|behavior/);
      for (const m of flat.matchAll(/data:[^,;]*/g))
        expect(m[0]).toMatch(/^data:image\/(png|jpeg|gif|webp)$/);
      for (const m of flat.matchAll(/url\(([^)]*)\)/g)) expect(m[1]).toMatch(/^['"]?#/);
      // Only functions that cannot fetch: local url(), colours, transforms.
      for (const name of cssFunctionNames(attr.value)) expect(CSS_FUNCTIONS).toContain(name);
      expect(flat).not.toMatch(/\/\//);
      if (attr.local === 'href') expect(flat).toMatch(/^#|^data:image\/(png|jpeg|gif|webp);base64,/);
    }
  });
  parser.write(svg).close();
}

function render(svg: string): Uint8Array {
  return new Resvg(svg, { fitTo: { mode: 'original' }, font: { loadSystemFonts: true } }).render().pixels;
}
function psnr(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) return 0;
  let se = 0;
  for (let i = 0; i < a.length; i++) se += (a[i] - b[i]) ** 2;
  return se === 0 ? Number.POSITIVE_INFINITY : 10 * Math.log10((255 * 255) / (se / a.length));
}

describe('sanitizeSvg on the XSS corpus', () => {
  const vectors = read('vectors');

  it('has at least 40 vectors', () => {
    expect(vectors.length).toBeGreaterThanOrEqual(40);
  });

  it.each(vectors)('neutralizes %s', (_name, source) => {
    let out: ReturnType<typeof sanitizeSvg>;
    try {
      out = sanitizeSvg(source);
    } catch (err) {
      expect(err).toBeInstanceOf(SvgInvalidError);
      expect((err as Error).name).toBe('Svg.Invalid');
      return;
    }
    assertNeutral(out.svg);
    // Markup smuggled in as text must stay escaped text, never become tags again.
    expect(out.svg).not.toMatch(/<(script|iframe|foreignObject|style|a)[\s>/]/i);
  });

  it('drops every CSS function that can fetch (image-set, -webkit-image-set, var, cross-fade…)', () => {
    for (const [name, source] of vectors.filter(([n]) => /css-/.test(n))) {
      const out = sanitizeSvg(source).svg;
      expect({ name, out }).toEqual({
        name,
        out: expect.not.stringMatching(
          /image-set|tracker|t\.example|var\(|paint\(|env\(|attr\(|element\(|src\(/,
        ),
      });
      assertNeutral(out);
    }
  });

  it('keeps only allow-listed CSS functions and units in any value (property)', () => {
    const token = fc.constantFrom(
      'red',
      '#a0b',
      '1.5',
      '2px',
      '3em',
      '50%',
      '1e3',
      'url(#g)',
      "url('#g')",
      'rgb(1,2,3)',
      'image-set(',
      '-webkit-image-set(',
      'url(',
      '"https://x.example/a"',
      "'//x'",
      ')',
      '(',
      ',',
      ' ',
      'var(--a)',
      'attr(x)',
      '\\75rl(',
      '/*',
      '*/',
      ';',
      ':',
      '!important',
      'expression(',
      'javascript:',
      '4vmax',
      '5Q',
      '6dpi',
      '7deg',
      'sans-serif',
      '"Open Sans"',
      'none',
      'calc(1px+2px)',
      '&#x75;',
    );
    const value = fc.array(token, { minLength: 1, maxLength: 8 }).map((parts) => parts.join(''));
    const attribute = fc.constantFrom(
      'fill',
      'stroke',
      'mask',
      'filter',
      'stroke-width',
      'font-family',
      'transform',
    );
    fc.assert(
      fc.property(attribute, value, fc.boolean(), (name, v, inStyle) => {
        const attr = inStyle
          ? `style="${name}:${v.replace(/"/g, '&quot;')}"`
          : `${name}="${v.replace(/"/g, '&quot;')}"`;
        let out: string;
        try {
          out = sanitizeSvg(
            `<svg xmlns="http://www.w3.org/2000/svg"><rect width="4" height="4" ${attr}/></svg>`,
          ).svg;
        } catch (error) {
          expect(error).toBeInstanceOf(SvgInvalidError);
          return;
        }
        assertNeutral(out);
        const rect = out.slice(out.indexOf('<rect')).replace(/#[\w.-]+/g, '');
        for (const m of rect.matchAll(/(?<![\w-])[+-]?(?:\d+\.?\d*|\.\d+)(%|[a-zA-Z]+)/g)) {
          expect(CSS_UNITS).toContain(m[1].toLowerCase());
        }
      }),
      { numRuns: 400 },
    );
  });

  it('refuses entity declarations before expanding anything', () => {
    const bomb = vectors.find(([n]) => n.includes('billion-laughs'))?.[1] ?? '';
    expect(() => sanitizeSvg(bomb)).toThrow(/entity declarations/);
  });

  it('refuses an exponential <use> chain and a <use> cycle', () => {
    const get = (part: string) => vectors.find(([n]) => n.includes(part))?.[1] ?? '';
    expect(() => sanitizeSvg(get('use-bomb'))).toThrow(/expands to more than/);
    expect(() => sanitizeSvg(get('use-cycle'))).toThrow(/cycle/);
  });
});

describe('sanitizeSvg render bombs', () => {
  const NS = 'xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"';

  it('refuses a canvas that would take gigapixels to draw', () => {
    expect(() =>
      sanitizeSvg(`<svg ${NS} viewBox="0 0 1 100000000"><rect width="1" height="1"/></svg>`),
    ).toThrow(/canvas/);
    expect(() =>
      sanitizeSvg(`<svg ${NS} width="100000" height="100000"><rect width="1" height="1"/></svg>`),
    ).toThrow(/canvas/);
  });

  it('refuses a mask chain that renders exponentially many layers', () => {
    let masks = '';
    for (let i = 0; i < 12; i++) {
      const next = i < 11 ? ` mask="url(#m${i + 1})"` : '';
      masks += `<mask id="m${i}"><rect width="64" height="64" fill="white"${next}/><rect width="9" height="9"${next}/></mask>`;
    }
    expect(() =>
      sanitizeSvg(
        `<svg ${NS} viewBox="0 0 64 64">${masks}<rect width="64" height="64" mask="url(#m0)"/></svg>`,
      ),
    ).toThrow(/layers/);
  });

  it('refuses a filter region far larger than the canvas', () => {
    const rects = '<rect width="10" height="10" filter="url(#b)"/>'.repeat(50);
    const svg = `<svg ${NS} viewBox="0 0 64 64"><filter id="b" filterUnits="userSpaceOnUse" x="-10000" y="-10000" width="20000" height="20000"><feGaussianBlur stdDeviation="50"/></filter>${rects}</svg>`;
    expect(() => sanitizeSvg(svg)).toThrow(/region/);
  });

  it('counts a <use> with both href and xlink:href the way every renderer resolves it', () => {
    // Each level's href points at a harmless dot, its xlink:href doubles the previous level.
    let levels = '<circle id="l0" r="1"/><circle id="dot" r="1"/>';
    for (let i = 1; i < 24; i++) {
      levels += `<g id="l${i}"><use href="#dot" xlink:href="#l${i - 1}"/><use href="#dot" xlink:href="#l${i - 1}"/></g>`;
    }
    const svg = `<svg ${NS} viewBox="0 0 8 8"><defs>${levels}</defs><use href="#dot" xlink:href="#l23"/></svg>`;
    let out: string;
    try {
      out = sanitizeSvg(svg).svg;
    } catch (error) {
      expect((error as Error).message).toMatch(/expands to more than/);
      return;
    }
    for (const use of out.match(/<use[^>]*>/g) ?? []) expect(use.match(/href=/g)).toHaveLength(1);
  });
});

describe('sanitizeSvg limits and errors', () => {
  it('rejects empty input', () => {
    expect(() => sanitizeSvg('  ')).toThrow(SvgInvalidError);
  });

  it('rejects input over the byte limit', () => {
    const svg = `<svg xmlns="http://www.w3.org/2000/svg">${'<rect width="1" height="1"/>'.repeat(100)}</svg>`;
    expect(() => sanitizeSvg(svg, { maxBytes: 1000 })).toThrow(/byte limit/);
  });

  it('rejects input over the element limit', () => {
    const svg = `<svg xmlns="http://www.w3.org/2000/svg">${'<rect width="1" height="1"/>'.repeat(50)}</svg>`;
    expect(() => sanitizeSvg(svg, { maxElements: 20 })).toThrow(/more than 20 elements/);
    expect(sanitizeSvg(svg, { maxElements: 51 }).elements).toBe(51);
  });

  it('rejects a document that does not parse or is not an svg', () => {
    expect(() => sanitizeSvg('<svg><rect></svg>')).toThrow(/does not parse/);
    expect(() => sanitizeSvg('<html xmlns="http://www.w3.org/1999/xhtml"/>')).toThrow(/not <svg>/);
    expect(() => sanitizeSvg('just words')).toThrow(SvgInvalidError);
  });

  it('adds the SVG namespace to model output that lacks it', () => {
    const out = sanitizeSvg(
      '<svg viewBox="0 0 10 10"><circle id="path_0" cx="5" cy="5" r="4" fill="#E53935"/></svg>',
    );
    expect(out.svg).toBe(
      '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><circle id="path_0" cx="5" cy="5" r="4" fill="#E53935"/></svg>',
    );
    expect(render(out.svg).some((v) => v !== 0)).toBe(true);
  });

  it('keeps escaped markup in text as text', () => {
    const out = sanitizeSvg(
      '<svg xmlns="http://www.w3.org/2000/svg"><title>a &lt;b&gt; &amp; c</title></svg>',
    );
    expect(out.svg).toContain('<title>a &lt;b&gt; &amp; c</title>');
  });
});

describe('sanitizeSvg on legitimate drawings', () => {
  it('keeps <style> rules as presentation attributes, and safe <symbol>, <pattern>, <marker>, pixel for pixel', () => {
    for (const name of ['style-classes.svg', 'symbol-use.svg', 'pattern-fill.svg', 'marker-arrows.svg']) {
      const source = readFileSync(join(FIXTURES, 'legit', name), 'utf8');
      const out = sanitizeSvg(source).svg;

      expect({ name, psnr: psnr(render(source), render(out)) }).toEqual({
        name,
        psnr: Number.POSITIVE_INFINITY,
      });
      expect(out).not.toMatch(/<style|class=/);
    }
    expect(sanitizeSvg(readFileSync(join(FIXTURES, 'legit', 'marker-arrows.svg'), 'utf8')).svg).toContain(
      '<marker',
    );
  });

  it('applies only safe declarations and simple selectors from a <style>', () => {
    const out = sanitizeSvg(
      '<svg xmlns="http://www.w3.org/2000/svg"><style>@import url(https://x.example/a.css); rect { fill: url(https://x.example/p) } .a { fill: blue; behavior: url(x.htc) } g > .a { fill: red } .a:hover { fill: red } @media print { .a { fill: red } }</style><rect class="a" width="4" height="4"/></svg>',
    );

    expect(out.svg).toBe(
      '<svg xmlns="http://www.w3.org/2000/svg"><rect width="4" height="4" fill="blue"/></svg>',
    );
  });

  it.each(read('legit'))('renders %s the same before and after', (_name, source) => {
    const out = sanitizeSvg(source);
    expect(psnr(render(source), render(out.svg))).toBeGreaterThanOrEqual(50);
    assertNeutral(out.svg);
  });

  it('renders 60 Fluent emoji icons the same before and after', () => {
    const require = createRequire(import.meta.url);
    const set = require('@iconify-json/fluent-emoji-flat/icons.json') as {
      icons: Record<string, { body: string }>;
    };
    const names = Object.keys(set.icons);
    // Every 53rd icon plus all that use filters or <use>, so the corpus covers those paths.
    const picked = names
      .filter((n, i) => i % 53 === 0 || /<filter|<use/.test(set.icons[n].body))
      .slice(0, 60);
    expect(picked.length).toBe(60);
    for (const name of picked) {
      const source = `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="128" height="128" viewBox="0 0 32 32">${set.icons[name].body}</svg>`;
      const out = sanitizeSvg(source);
      expect({ name, psnr: psnr(render(source), render(out.svg)) >= 50 }).toEqual({ name, psnr: true });
    }
  });
});
