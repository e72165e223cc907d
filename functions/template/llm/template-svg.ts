// Turns a model's answer into a template SVG or a clear Template.InvalidSvg: find the SVG in
// prose or code fences, sanitize it, keep the template's shape vocabulary, flatten gradients to
// their first color, number the shapes path_N in stacking order, and put it on a 512×512 canvas.
import { SvgInvalidError, type SvgNode, sanitizeSvgTree, serializeSvg } from '#commons/sanitize';
import { TemplateInvalidSvgError } from './errors.ts';

export const CANVAS = 512;
const SHAPES = new Set(['rect', 'circle', 'ellipse', 'line', 'polyline', 'polygon', 'path']);
const KEEP = new Set([...SHAPES, 'g']);
const PAINT = new Set(['fill', 'stroke']);
/** References whose targets the template drops; the shape stays, unclipped and unfiltered. */
const DROPPED_REFS = new Set(['clip-path', 'mask', 'filter']);
/** A template is small by design; this also keeps the stage output far inside its budget. */
const LIMITS = { maxBytes: 100_000, maxElements: 1_000 };

export interface TemplateSvg {
  svg: string;
  shapes: number;
  /** What the sanitizer and the template rules took out or changed. */
  fixes: string[];
}

// One markup token: a comment, a CDATA section, or a tag whose quoted attribute values may hold
// `>` or `<`. Tag names are whole (`svg:rect` is not `svg`).
const TOKEN =
  /<!--[\s\S]*?-->|<!\[CDATA\[[\s\S]*?\]\]>|<(\/?)([A-Za-z_][\w.:-]*)((?:[^>"']|"[^"]*"|'[^']*')*?)(\/?)>/g;
const SVG_START = /<svg(?=[\s>/])/i;

/** The SVG inside an answer: a fenced block if there is one, else the first whole <svg>…</svg>. */
export function extractSvg(answer: string): string {
  for (const fence of answer.matchAll(/```[\w-]*\s*\n([\s\S]*?)```/g)) {
    if (SVG_START.test(fence[1])) return extractSvg(fence[1]);
  }
  const start = answer.search(SVG_START);
  if (start < 0) throw new TemplateInvalidSvgError('the answer holds no <svg> element');
  // Match nested <svg> tags so that a second drawing or prose after the first is left out.
  let depth = 0;
  const rest = answer.slice(start);
  for (const token of rest.matchAll(TOKEN)) {
    const [text, closing, name, , selfClosing] = token;
    if (name === undefined || name.toLowerCase() !== 'svg') continue;
    depth += closing ? -1 : selfClosing ? 0 : 1;
    if (depth === 0) return rest.slice(0, (token.index ?? 0) + text.length);
  }
  throw new TemplateInvalidSvgError('the SVG is cut off: no closing </svg>');
}

export function repairTemplate(answer: string): TemplateSvg {
  let tree: ReturnType<typeof sanitizeSvgTree>;
  try {
    tree = sanitizeSvgTree(extractSvg(answer), LIMITS);
  } catch (error) {
    if (error instanceof SvgInvalidError) throw new TemplateInvalidSvgError(error.message, { cause: error });
    throw error;
  }
  const fixes = [...tree.removed];
  const colors = firstStopColors(tree.root);
  const root = tree.root;
  const children = keepShapes(root.children, colors, fixes);
  let shapes = 0;
  const number = (nodes: (SvgNode | string)[]) => {
    for (const node of nodes) {
      if (typeof node === 'string') continue;
      node.attrs = node.attrs.filter(([name]) => name !== 'id');
      if (SHAPES.has(node.name)) node.attrs.unshift(['id', `path_${shapes++}`]);
      number(node.children);
    }
  };
  number(children);
  if (shapes === 0) throw new TemplateInvalidSvgError('the SVG has no drawable shapes');
  const svg: SvgNode = {
    name: 'svg',
    attrs: [
      ['xmlns', 'http://www.w3.org/2000/svg'],
      ['viewBox', `0 0 ${CANVAS} ${CANVAS}`],
      ['width', String(CANVAS)],
      ['height', String(CANVAS)],
    ],
    children: fitToCanvas(root, children, fixes),
  };
  return { svg: serializeSvg(svg), shapes, fixes };
}

function attr(node: SvgNode, name: string): string | undefined {
  return node.attrs.find(([n]) => n === name)?.[1];
}

function firstStopColors(root: SvgNode): Map<string, string> {
  const colors = new Map<string, string>();
  const walk = (node: SvgNode) => {
    if (node.name.endsWith('Gradient')) {
      const stop = node.children.find((c): c is SvgNode => typeof c !== 'string' && c.name === 'stop');
      const style = stop && attr(stop, 'style')?.match(/stop-color:\s*([^;]+)/)?.[1];
      const color = stop && (attr(stop, 'stop-color') ?? style);
      const id = attr(node, 'id');
      if (id && color) colors.set(id, color.trim());
    }
    for (const c of node.children) if (typeof c !== 'string') walk(c);
  };
  walk(root);
  return colors;
}

/** A paint that points at a gradient becomes the gradient's first color. */
function flatPaint(value: string, colors: Map<string, string>): string | undefined {
  const ref = value.match(/url\(\s*['"]?#([^'")\s]+)['"]?\s*\)\s*(.*)$/);
  if (!ref) return value;
  return colors.get(ref[1]) ?? (ref[2].trim() || undefined);
}

function keepShapes(nodes: (SvgNode | string)[], colors: Map<string, string>, fixes: string[]): SvgNode[] {
  const kept: SvgNode[] = [];
  for (const node of nodes) {
    if (typeof node === 'string') continue;
    if (!KEEP.has(node.name)) {
      if (node.name !== 'defs' && node.name !== 'title' && node.name !== 'desc') fixes.push(`<${node.name}>`);
      continue;
    }
    const attrs: [string, string][] = [];
    for (const [name, value] of node.attrs) {
      if (DROPPED_REFS.has(name)) continue;
      if (PAINT.has(name)) {
        const flat = flatPaint(value, colors);
        if (flat !== value) fixes.push(`${name}: gradient flattened`);
        if (flat !== undefined) attrs.push([name, flat]);
      } else if (name === 'style') {
        const style = value
          .split(';')
          .map((decl) => {
            const [prop, ...rest] = decl.split(':');
            const p = prop.trim();
            if (DROPPED_REFS.has(p)) return '';
            if (!PAINT.has(p)) return decl;
            const flat = flatPaint(rest.join(':').trim(), colors);
            return flat === undefined ? '' : `${p}:${flat}`;
          })
          .filter(Boolean)
          .join(';');
        if (style) attrs.push([name, style]);
      } else {
        attrs.push([name, value]);
      }
    }
    kept.push({ name: node.name, attrs, children: keepShapes(node.children, colors, fixes) });
  }
  return kept;
}

/** Maps the drawing's own viewBox (or width/height) onto 0 0 512 512 with one wrapping group. */
function fitToCanvas(root: SvgNode, children: SvgNode[], fixes: string[]): SvgNode[] {
  const box = (attr(root, 'viewBox') ?? '')
    .split(/[\s,]+/)
    .filter(Boolean)
    .map(Number);
  let [x, y, w, h] = box.length === 4 && box.every(Number.isFinite) ? box : [0, 0, Number.NaN, Number.NaN];
  if (!(w > 0 && h > 0)) {
    x = 0;
    y = 0;
    w = Number.parseFloat(attr(root, 'width') ?? '') || CANVAS;
    h = Number.parseFloat(attr(root, 'height') ?? '') || CANVAS;
  }
  if (x === 0 && y === 0 && w === CANVAS && h === CANVAS) return children;
  // Uniform scale, centred: what preserveAspectRatio's default (xMidYMid meet) would show.
  const scale = Math.min(CANVAS / w, CANVAS / h);
  const dx = (CANVAS - w * scale) / 2 - x * scale;
  const dy = (CANVAS - h * scale) / 2 - y * scale;
  const round = (v: number) => Number(v.toFixed(4));
  fixes.push(`viewBox ${x} ${y} ${w} ${h} mapped to 0 0 ${CANVAS} ${CANVAS}`);
  return [
    {
      name: 'g',
      attrs: [['transform', `translate(${round(dx)} ${round(dy)}) scale(${round(scale)})`]],
      children,
    },
  ];
}
