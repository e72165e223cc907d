import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { extractSvg, repairTemplate } from '#template/llm/template-svg';

const NS = 'xmlns="http://www.w3.org/2000/svg"';

describe('extractSvg', () => {
  it('takes the fenced block that holds the SVG, not the prose around it', () => {
    const answer =
      'Plan:\n```text\nno svg here\n```\nDrawing:\n```svg\n<svg><rect/></svg>\n```\nDone <svg>decoy';
    expect(extractSvg(answer)).toBe('<svg><rect/></svg>');
  });

  it('takes the first whole <svg> element from prose without fences', () => {
    expect(extractSvg('Here: <svg><g><svg/></g></svg> enjoy')).toBe('<svg><g><svg/></g></svg>');
    expect(extractSvg('A: <svg a="1"><svg><rect/></svg></svg> or B: <svg b="2"></svg>')).toBe(
      '<svg a="1"><svg><rect/></svg></svg>',
    );
  });

  it('counts only <svg> tags themselves, not namespace-prefixed elements such as <svg:rect>', () => {
    const drawing = `<svg ${NS} xmlns:svg="http://www.w3.org/2000/svg"><svg:g><svg:rect width="4" height="4"/></svg:g><circle r="2"/></svg>`;

    expect(extractSvg(`Here you go: ${drawing} Enjoy!`)).toBe(drawing);
  });

  it('reads quoted attribute values, comments and CDATA without mistaking what is inside for tags', () => {
    const drawing = `<svg ${NS} data-x="a>b"><!-- </svg> --><![CDATA[</svg>]]><rect/></svg>`;

    expect(extractSvg(`${drawing} then <svg>second</svg>`)).toBe(drawing);
  });

  it('returns any well-formed drawing whole from the prose around it (property)', () => {
    const name = fc.constantFrom('g', 'rect', 'svg', 'svg:rect', 'svg:g', 'svgx', 'path', 'x:svg');
    const attr = fc.constantFrom('', ' a="1"', ' d="M0 0>1"', " t='</svg>'", ' k="<svg>"');
    const tree: fc.Arbitrary<string> = fc.letrec<{ node: string }>((tie) => ({
      node: fc.oneof(
        { depthSize: 'small' },
        fc.tuple(name, attr).map(([n, a]) => `<${n}${a}/>`),
        fc
          .tuple(name, attr, fc.array(tie('node'), { maxLength: 3 }))
          .map(([n, a, kids]) => `<${n}${a}>${kids.join('')}</${n}>`),
      ),
    })).node;
    const prose = fc.string({ maxLength: 20 }).filter((s) => !/[<>`]/.test(s));
    fc.assert(
      fc.property(prose, attr, fc.array(tree, { maxLength: 4 }), prose, (before, a, kids, after) => {
        const drawing = `<svg${a}>${kids.join('')}</svg>`;
        expect(extractSvg(`${before}${drawing}${after}`)).toBe(drawing);
      }),
      { numRuns: 300 },
    );
  });

  it('names a cut-off SVG and an answer without one', () => {
    expect(() => extractSvg('<svg><rect/>')).toThrow(/cut off/);
    expect(() => extractSvg('I cannot draw that.')).toThrow(/no <svg>/);
  });
});

describe('repairTemplate', () => {
  it('numbers shapes path_N in stacking order and drops ids on groups', () => {
    const out = repairTemplate(
      `<svg ${NS} viewBox="0 0 512 512"><g id="fox"><circle id="head" r="5"/><rect id="x" width="2" height="2"/></g><path id="path_9" d="M0 0L5 5"/></svg>`,
    );
    expect(out.svg).toBe(
      `<svg ${NS} viewBox="0 0 512 512" width="512" height="512"><g><circle id="path_0" r="5"/><rect id="path_1" width="2" height="2"/></g><path id="path_2" d="M0 0L5 5"/></svg>`,
    );
    expect(out.shapes).toBe(3);
  });

  it('maps another viewBox onto the 512 canvas, centred', () => {
    const out = repairTemplate(`<svg ${NS} viewBox="10 10 100 50"><rect width="100" height="50"/></svg>`);
    expect(out.svg).toContain('<g transform="translate(-51.2 76.8) scale(5.12)">');
    expect(out.fixes).toContain('viewBox 10 10 100 50 mapped to 0 0 512 512');
  });

  it('uses width and height when there is no viewBox', () => {
    const out = repairTemplate(`<svg ${NS} width="256" height="256"><rect width="256" height="256"/></svg>`);
    expect(out.svg).toContain('transform="translate(0 0) scale(2)"');
  });

  it('flattens gradient paints to their first stop color and drops clip paths', () => {
    const out = repairTemplate(
      `<svg ${NS} viewBox="0 0 512 512"><defs><linearGradient id="g"><stop offset="0" stop-color="#FF0000"/><stop offset="1" stop-color="#0000FF"/></linearGradient><clipPath id="c"><rect width="9" height="9"/></clipPath></defs>` +
        `<rect width="9" height="9" fill="url(#g)" clip-path="url(#c)"/><circle r="3" style="fill:url(#g);stroke:#000000"/><ellipse rx="2" ry="1" fill="url(#gone) #00FF00"/></svg>`,
    );
    expect(out.svg).toContain('<rect id="path_0" width="9" height="9" fill="#FF0000"/>');
    expect(out.svg).toContain('<circle id="path_1" r="3" style="fill:#FF0000;stroke:#000000"/>');
    expect(out.svg).toContain('fill="#00FF00"');
    expect(out.svg).not.toMatch(/defs|clipPath|url\(/);
  });

  it('removes text, images and scripts and keeps the shapes', () => {
    const out = repairTemplate(
      `<svg ${NS} viewBox="0 0 512 512"><text>hi</text><script>alert(1)</script><rect width="5" height="5" onload="x()"/></svg>`,
    );
    expect(out.svg).toBe(
      `<svg ${NS} viewBox="0 0 512 512" width="512" height="512"><rect id="path_0" width="5" height="5"/></svg>`,
    );
    expect(out.fixes).toEqual(expect.arrayContaining(['<script>', '@onload', '<text>']));
  });

  it('rejects an SVG with nothing to draw, or one that does not parse, as Template.InvalidSvg', () => {
    for (const answer of [
      `<svg ${NS}><text>only words</text></svg>`,
      '<svg><rect></svg>',
      '<svg><!ENTITY x "y"></svg>',
    ]) {
      expect(() => repairTemplate(answer)).toThrow(expect.objectContaining({ name: 'Template.InvalidSvg' }));
    }
  });
});
