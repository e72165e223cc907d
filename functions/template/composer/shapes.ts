// Icon bodies → flat lists of shapes that a strict SVG sanitizer accepts: groups are flattened
// (inherited paint pushed down), gradients become their middle stop colour, and icons that need
// clip paths, masks, filters or <use> are refused rather than drawn wrong.
import { type Box, fmt, parsePath, pathGeometry, type Segment, transformPath } from './svg-path.ts';

export type ShapeTag = 'path' | 'rect' | 'circle' | 'ellipse' | 'line' | 'polyline' | 'polygon';
const SHAPE_TAGS = new Set<string>(['path', 'rect', 'circle', 'ellipse', 'line', 'polyline', 'polygon']);
const PAINT = ['fill', 'fill-rule', 'fill-opacity', 'stroke', 'stroke-width', 'stroke-opacity'] as const;
const GEOMETRY: Record<ShapeTag, string[]> = {
  path: ['d'],
  rect: ['x', 'y', 'width', 'height', 'rx', 'ry'],
  circle: ['cx', 'cy', 'r'],
  ellipse: ['cx', 'cy', 'rx', 'ry'],
  line: ['x1', 'y1', 'x2', 'y2'],
  polyline: ['points'],
  polygon: ['points'],
};
const REFUSED = new Set(['clipPath', 'mask', 'filter', 'use', 'image', 'text', 'pattern', 'symbol', 'style']);

export interface Shape {
  tag: ShapeTag;
  /** Geometry attributes in icon units, plus paint; never id or transform. */
  attrs: Record<string, string>;
  segments?: Segment[];
  /** Transform the icon itself put on this shape, kept verbatim (after placement). */
  ownTransform?: string;
  opacity: number;
  box: Box;
  area: number;
}

interface XmlNode {
  tag: string;
  attrs: Record<string, string>;
  children: XmlNode[];
}

const TAG = /<(\/?)([a-zA-Z][\w:-]*)((?:\s+[\w:-]+\s*=\s*"[^"]*")*)\s*(\/?)>/g;
const ATTR = /([\w:-]+)\s*=\s*"([^"]*)"/g;

function parseXml(body: string): XmlNode[] {
  const root: XmlNode = { tag: '#root', attrs: {}, children: [] };
  const stack = [root];
  for (const m of body.matchAll(TAG)) {
    const [, closing, tag, rawAttrs, selfClosing] = m;
    if (closing) {
      stack.pop();
      continue;
    }
    const attrs: Record<string, string> = {};
    for (const a of rawAttrs.matchAll(ATTR)) attrs[a[1]] = a[2];
    const node: XmlNode = { tag, attrs, children: [] };
    stack[stack.length - 1].children.push(node);
    if (!selfClosing) stack.push(node);
  }
  return root.children;
}

function gradientColours(nodes: XmlNode[], into = new Map<string, string>()): Map<string, string> {
  for (const n of nodes) {
    if (/Gradient$/.test(n.tag) && n.attrs.id) {
      const stops = n.children.filter((c) => c.tag === 'stop');
      const middle = stops[Math.floor(stops.length / 2)];
      if (middle) into.set(n.attrs.id, middle.attrs['stop-color'] ?? '#000');
    } else gradientColours(n.children, into);
  }
  return into;
}

function geometry(
  tag: ShapeTag,
  a: Record<string, string>,
): { box: Box; area: number; segments?: Segment[] } {
  const n = (k: string) => Number(a[k] ?? 0);
  switch (tag) {
    case 'path': {
      const segments = parsePath(a.d ?? '');
      return { ...pathGeometry(segments), segments };
    }
    case 'rect':
      return { box: { x: n('x'), y: n('y'), w: n('width'), h: n('height') }, area: n('width') * n('height') };
    case 'circle':
      return {
        box: { x: n('cx') - n('r'), y: n('cy') - n('r'), w: 2 * n('r'), h: 2 * n('r') },
        area: Math.PI * n('r') ** 2,
      };
    case 'ellipse':
      return {
        box: { x: n('cx') - n('rx'), y: n('cy') - n('ry'), w: 2 * n('rx'), h: 2 * n('ry') },
        area: Math.PI * n('rx') * n('ry'),
      };
    default: {
      const pts =
        tag === 'line'
          ? [n('x1'), n('y1'), n('x2'), n('y2')]
          : (a.points ?? '')
              .split(/[\s,]+/)
              .filter(Boolean)
              .map(Number);
      const d = `M${pts.join(' ')}${tag === 'polygon' ? 'z' : ''}`;
      return pathGeometry(parsePath(d));
    }
  }
}

/** Flattens an icon body; null when the icon needs features the sanitizer would strip. */
export function parseIconBody(body: string): Shape[] | null {
  const tree = parseXml(body);
  const gradients = gradientColours(tree);
  const paint = (v: string | undefined) => {
    const ref = v && /^url\(#([^)]+)\)$/.exec(v);
    return ref ? gradients.get(ref[1]) : v;
  };
  const shapes: Shape[] = [];
  let refused = false;
  const walk = (nodes: XmlNode[], inherited: Record<string, string>, opacity: number, transform: string) => {
    for (const node of nodes) {
      if (REFUSED.has(node.tag) || node.attrs['clip-path'] || node.attrs.mask || node.attrs.filter) {
        refused = true;
        return;
      }
      if (node.tag === 'defs' || /Gradient$/.test(node.tag)) continue;
      const own: Record<string, string> = { ...inherited };
      for (const k of PAINT) {
        const v = paint(node.attrs[k]);
        if (v !== undefined) own[k] = v;
      }
      const nodeOpacity = opacity * Number(node.attrs.opacity ?? 1);
      const nodeTransform = [transform, node.attrs.transform ?? ''].join(' ').trim();
      if (node.tag === 'g') {
        walk(node.children, own, nodeOpacity, nodeTransform);
        continue;
      }
      if (!SHAPE_TAGS.has(node.tag)) continue;
      const tag = node.tag as ShapeTag;
      if (own.fill === undefined) own.fill = '#000';
      const attrs: Record<string, string> = {};
      for (const k of GEOMETRY[tag]) if (node.attrs[k] !== undefined) attrs[k] = node.attrs[k];
      for (const k of PAINT) if (own[k] !== undefined) attrs[k] = own[k];
      shapes.push({
        tag,
        attrs,
        ...geometry(tag, attrs),
        opacity: nodeOpacity,
        ownTransform: nodeTransform || undefined,
      });
    }
  };
  walk(tree, {}, 1, '');
  return refused ? null : shapes;
}

/** Union of the boxes of the painted shapes. */
export function contentBox(shapes: Shape[]): Box {
  let minX = Number.POSITIVE_INFINITY;
  let minY = Number.POSITIVE_INFINITY;
  let maxX = Number.NEGATIVE_INFINITY;
  let maxY = Number.NEGATIVE_INFINITY;
  for (const { box } of shapes) {
    if (box.w === 0 && box.h === 0) continue;
    minX = Math.min(minX, box.x);
    minY = Math.min(minY, box.y);
    maxX = Math.max(maxX, box.x + box.w);
    maxY = Math.max(maxY, box.y + box.h);
  }
  if (minX > maxX) return { x: 0, y: 0, w: 32, h: 32 };
  return { x: minX, y: minY, w: maxX - minX, h: maxY - minY };
}

/** One SVG element for a shape placed with p ↦ p·s + (tx, ty). */
export function renderShape(
  shape: Shape,
  id: string,
  s: number,
  tx: number,
  ty: number,
  fill?: string,
): string {
  const attrs: [string, string][] = [['id', id]];
  const baked = !shape.ownTransform;
  const k = baked ? s : 1;
  const dx = baked ? tx : 0;
  const dy = baked ? ty : 0;
  const a = shape.attrs;
  const num = (name: string, scale: number, offset: number) => {
    if (a[name] !== undefined) attrs.push([name, fmt(Number(a[name]) * scale + offset)]);
  };
  switch (shape.tag) {
    case 'path':
      attrs.push(['d', baked && shape.segments ? transformPath(shape.segments, s, tx, ty) : (a.d ?? '')]);
      break;
    case 'polyline':
    case 'polygon': {
      const pts = (a.points ?? '')
        .split(/[\s,]+/)
        .filter(Boolean)
        .map(Number);
      attrs.push(['points', pts.map((v, i) => fmt(v * k + (i % 2 === 0 ? dx : dy))).join(' ')]);
      break;
    }
    default:
      for (const name of GEOMETRY[shape.tag]) {
        const isX = name === 'x' || name === 'cx' || name === 'x1' || name === 'x2';
        const isY = name === 'y' || name === 'cy' || name === 'y1' || name === 'y2';
        num(name, k, isX ? dx : isY ? dy : 0);
      }
  }
  for (const p of PAINT) {
    let v = p === 'fill' && fill ? fill : a[p];
    if (v === undefined) continue;
    if (p === 'stroke-width') v = fmt(Number(v) * k);
    attrs.push([p, v]);
  }
  if (shape.opacity < 1) attrs.push(['opacity', fmt(shape.opacity)]);
  if (!baked)
    attrs.push([
      'transform',
      `translate(${fmt(tx)} ${fmt(ty)}) scale(${Number(s.toFixed(5))}) ${shape.ownTransform}`,
    ]);
  return `<${shape.tag} ${attrs.map(([n, v]) => `${n}="${v}"`).join(' ')}/>`;
}
