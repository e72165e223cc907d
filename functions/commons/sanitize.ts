// The one SVG sanitizer (finalize and the template stage both use it): parse with a strict XML
// parser, keep an allow-list of drawing elements and attributes, re-serialize from scratch.
// Anything the allow-list does not name is dropped, so new attack tricks fail closed.
import { SaxesParser, type SaxesTagNS } from 'saxes';

export class SvgInvalidError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'Svg.Invalid';
  }
}

export interface SanitizeLimits {
  /** @default 2_000_000 (UTF-8 bytes of the input) */
  maxBytes?: number;
  /** @default 10_000 (elements in the input, kept or not) */
  maxElements?: number;
}

export interface SanitizedSvg {
  svg: string;
  /** Elements in the output. */
  elements: number;
  /** What was dropped, once per kind: `<script>`, `@onload`, `style:behavior`, `doctype`… */
  removed: string[];
}

const DEFAULT_LIMITS = { maxBytes: 2_000_000, maxElements: 10_000 };
const MAX_DEPTH = 200;

const SVG_NS = 'http://www.w3.org/2000/svg';
const XLINK_NS = 'http://www.w3.org/1999/xlink';
const XML_NS = 'http://www.w3.org/XML/1998/namespace';

// biome-ignore format: packed lists read better
const ELEMENTS = new Set([
  'svg', 'g', 'defs', 'title', 'desc', 'path', 'rect', 'circle', 'ellipse', 'line', 'polyline', 'polygon',
  'text', 'tspan', 'linearGradient', 'radialGradient', 'stop', 'clipPath', 'mask', 'image', 'use',
  // Filter primitives that only compute on pixels already drawn (no feImage: it fetches).
  'filter', 'feBlend', 'feColorMatrix', 'feComposite', 'feFlood', 'feGaussianBlur', 'feMerge', 'feMergeNode',
  'feOffset',
  // Reuse and decoration, safe once their references are local and counted (checkRenderCost).
  'symbol', 'pattern', 'marker',
]);
/** Elements whose text children are content; elsewhere text is only whitespace between tags. */
const TEXT_ELEMENTS = new Set(['title', 'desc', 'text', 'tspan']);
/** Harmless wrappers whose own semantics are unsafe (links): keep the children, drop the tag. */
const UNWRAP = new Set(['a']);

// Presentation properties: allowed both as attributes and inside `style`.
// biome-ignore format: packed lists read better
const PRESENTATION = new Set([
  'fill', 'fill-opacity', 'fill-rule', 'stroke', 'stroke-width', 'stroke-opacity', 'stroke-linecap',
  'stroke-linejoin', 'stroke-miterlimit', 'stroke-dasharray', 'stroke-dashoffset', 'opacity', 'clip-path',
  'clip-rule', 'mask', 'visibility', 'display', 'color', 'stop-color', 'stop-opacity', 'font-family',
  'font-size', 'font-weight', 'font-style', 'font-variant', 'text-anchor', 'dominant-baseline',
  'alignment-baseline', 'baseline-shift', 'letter-spacing', 'word-spacing', 'text-decoration',
  'vector-effect', 'shape-rendering', 'paint-order', 'mix-blend-mode', 'isolation', 'color-interpolation',
  'filter', 'color-interpolation-filters', 'flood-color', 'flood-opacity', 'marker-start', 'marker-mid',
  'marker-end', 'marker',
]);
// biome-ignore format: packed lists read better
const GEOMETRY = new Set([
  'id', 'x', 'y', 'x1', 'y1', 'x2', 'y2', 'cx', 'cy', 'r', 'rx', 'ry', 'fx', 'fy', 'fr', 'width', 'height',
  'd', 'points', 'transform', 'viewBox', 'preserveAspectRatio', 'version', 'offset', 'gradientUnits',
  'gradientTransform', 'spreadMethod', 'clipPathUnits', 'maskUnits', 'maskContentUnits', 'dx', 'dy', 'rotate',
  'textLength', 'lengthAdjust', 'pathLength', 'style', 'filterUnits', 'primitiveUnits', 'result', 'in', 'in2',
  'values', 'type', 'mode', 'operator', 'k1', 'k2', 'k3', 'k4', 'stdDeviation', 'edgeMode', 'patternUnits',
  'patternContentUnits', 'patternTransform', 'markerWidth', 'markerHeight', 'markerUnits', 'orient', 'refX',
  'refY',
]);
/** Elements allowed to carry a local `#id` reference in `href` (reuse, gradient inheritance). */
const LOCAL_HREF = new Set(['use', 'linearGradient', 'radialGradient', 'pattern']);

const ID = /^[A-Za-z_][\w.-]{0,127}$/;
const LOCAL_URL = /^url\(\s*(['"]?)#[A-Za-z_][\w.-]{0,127}\1\s*\)/i;
const RASTER_DATA = /^data:image\/(png|jpeg|gif|webp);base64,[A-Za-z0-9+/=\s]+$/i;

/** The sanitized document as a tree, for callers that reshape it before serializing. */
export interface SvgNode {
  name: string;
  attrs: [string, string][];
  children: (SvgNode | string)[];
}
type Node = SvgNode;

export function sanitizeSvg(svg: string, limits: SanitizeLimits = {}): SanitizedSvg {
  const { root, elements, removed } = sanitizeSvgTree(svg, limits);
  return { svg: serializeSvg(root), elements, removed };
}

export function sanitizeSvgTree(
  svg: string,
  limits: SanitizeLimits = {},
): { root: SvgNode; elements: number; removed: string[] } {
  const { maxBytes, maxElements } = { ...DEFAULT_LIMITS, ...limits };
  if (typeof svg !== 'string' || svg.trim() === '') throw new SvgInvalidError('SVG is empty');
  const bytes = Buffer.byteLength(svg, 'utf8');
  if (bytes > maxBytes) throw new SvgInvalidError(`SVG is ${bytes} bytes, over the ${maxBytes} byte limit`);
  // Entity expansion (billion laughs, XXE) is refused before the parser sees the document.
  if (/<!ENTITY/i.test(svg)) throw new SvgInvalidError('entity declarations are not allowed');

  const removed = new Set<string>();
  const root: Node = { name: '#root', attrs: [], children: [] };
  // One frame per open input tag; `node` is null while inside a dropped subtree.
  const stack: { node: Node | null; local: string; stylesheet?: boolean }[] = [
    { node: root, local: '#root' },
  ];
  // <style> text, applied to the tree as presentation attributes once it is built.
  const stylesheets: string[] = [];
  let seen = 0;
  let kept = 0;
  let usesXlink = false;

  const parser = new SaxesParser({ xmlns: true, position: false });
  parser.on('doctype', (text) => {
    if (text.includes('[')) throw new SvgInvalidError('DOCTYPE internal subsets are not allowed');
    removed.add('doctype');
  });
  parser.on('processinginstruction', () => removed.add('processing-instruction'));
  parser.on('opentag', (tag) => {
    seen += 1;
    if (seen > maxElements) throw new SvgInvalidError(`SVG has more than ${maxElements} elements`);
    if (stack.length > MAX_DEPTH) throw new SvgInvalidError(`SVG nests deeper than ${MAX_DEPTH} elements`);
    const parent = stack[stack.length - 1];
    const local = tag.local ?? tag.name;
    // A document without xmlns is common in model output; treat it as SVG.
    const isSvg = tag.uri === SVG_NS || tag.uri === '';
    if (stack.length === 1 && !(isSvg && local === 'svg')) {
      throw new SvgInvalidError(`root element is <${tag.name}>, not <svg>`);
    }
    if (parent.node !== null && isSvg && local === 'style' && stack.length >= 2) {
      stack.push({ node: null, local, stylesheet: true });
      return;
    }
    if (parent.node === null || !isSvg || !(ELEMENTS.has(local) || UNWRAP.has(local))) {
      if (parent.node !== null) removed.add(`<${isSvg ? local : tag.name}>`);
      stack.push({ node: null, local });
      return;
    }
    if (UNWRAP.has(local)) {
      removed.add(`<${local}>`);
      stack.push({ node: parent.node, local });
      return;
    }
    const node: Node = { name: local, attrs: keepAttributes(local, tag, removed), children: [] };
    if (node.attrs.some(([name]) => name === 'xlink:href')) usesXlink = true;
    if (local === 'image' && !node.attrs.some(([name]) => name === 'href' || name === 'xlink:href')) {
      removed.add('<image>'); // an image without a safe source draws nothing
      stack.push({ node: null, local });
      return;
    }
    kept += 1;
    parent.node.children.push(node);
    stack.push({ node, local });
  });
  parser.on('closetag', () => {
    stack.pop();
  });
  const onText = (text: string) => {
    const top = stack[stack.length - 1];
    if (top.stylesheet) stylesheets.push(text);
    if (top.node !== null && TEXT_ELEMENTS.has(top.node.name)) top.node.children.push(text);
  };
  parser.on('text', onText);
  parser.on('cdata', onText);

  try {
    parser.write(svg).close();
  } catch (err) {
    if (err instanceof SvgInvalidError) throw err;
    throw new SvgInvalidError(`SVG does not parse: ${(err as Error).message.slice(0, 200)}`);
  }
  const top = root.children[0];
  if (top === undefined || typeof top === 'string') throw new SvgInvalidError('no <svg> root element');
  applyStylesheet(top, stylesheets.join('\n'), removed);
  checkRenderCost(top, maxElements);
  top.attrs = top.attrs.filter(([name]) => !name.startsWith('xmlns'));
  top.attrs.unshift(
    ['xmlns', SVG_NS],
    ...(usesXlink ? ([['xmlns:xlink', XLINK_NS]] as [string, string][]) : []),
  );
  return { root: top, elements: kept, removed: [...removed] };
}

/** Largest canvas side and area (CSS px) a document may ask a renderer for. */
const MAX_CANVAS_SIDE = 8192;
const MAX_CANVAS_PIXELS = 32_000_000;
/** Offscreen layers (masks, clips, filters, patterns) a renderer would allocate, nesting expanded. */
const MAX_LAYERS = 128;
/** A filter, mask or pattern region may cover at most this many canvases (or bounding boxes). */
const MAX_REGION_FACTOR = 4;
/** References that make a renderer draw the target into an offscreen layer. */
const LAYER_REFS = new Set(['mask', 'clip-path', 'filter', 'fill', 'stroke']);
const MARKER_REFS = new Set(['marker-start', 'marker-mid', 'marker-end', 'marker']);
const LAYER_ELEMENTS = new Set(['mask', 'clipPath', 'filter', 'pattern']);
const REGION_UNITS: Record<string, [units: string, fallback: string]> = {
  filter: ['filterUnits', 'objectBoundingBox'],
  mask: ['maskUnits', 'objectBoundingBox'],
  pattern: ['patternUnits', 'objectBoundingBox'],
};

const attrOf = (node: Node, name: string) => node.attrs.find(([n]) => n === name)?.[1];

/** The size a renderer gives the canvas: width/height, else the viewBox, as resvg resolves it. */
function canvasSize(top: Node): [number, number] {
  const box = (attrOf(top, 'viewBox') ?? '')
    .split(/[\s,]+/)
    .filter(Boolean)
    .map(Number);
  const viewBox =
    box.length === 4 && box.every(Number.isFinite) && box[2] > 0 && box[3] > 0 ? box : undefined;
  const length = (name: string) => {
    const m = /^\s*([\d.eE+-]+)\s*(px)?\s*$/.exec(attrOf(top, name) ?? '');
    return m ? Number(m[1]) : undefined;
  };
  let w = length('width');
  let h = length('height');
  if (viewBox) {
    if (w === undefined && h !== undefined) w = (h * viewBox[2]) / viewBox[3];
    if (h === undefined && w !== undefined) h = (w * viewBox[3]) / viewBox[2];
  }
  return [w ?? viewBox?.[2] ?? 100, h ?? viewBox?.[3] ?? 100];
}

/** Local `#id` targets named in a value: `url(#a)` in paints and style, or a bare `#a` in href. */
function referencesOf(node: Node): { name: string; id: string }[] {
  const refs: { name: string; id: string }[] = [];
  const fromValue = (name: string, value: string) => {
    for (const m of value.matchAll(/url\(\s*['"]?#([^'")\s]+)/g)) refs.push({ name, id: m[1] });
  };
  for (const [name, value] of node.attrs) {
    if (name === 'style') {
      for (const declaration of value.split(';')) {
        const colon = declaration.indexOf(':');
        if (colon > 0) fromValue(declaration.slice(0, colon).trim(), declaration.slice(colon + 1));
      }
    } else if (name.endsWith('href')) refs.push({ name: 'href', id: value.slice(1) });
    else fromValue(name, value);
  }
  return refs;
}

/** Vertices a marker is drawn at: numbers in the shape's geometry, halved (an upper bound). */
function vertexCount(node: Node): number {
  const geometry = `${attrOf(node, 'd') ?? ''} ${attrOf(node, 'points') ?? ''}`;
  return Math.max(2, Math.ceil((geometry.match(/[\d.]+/g) ?? []).length / 2));
}

/**
 * What the document costs a renderer, counted the way renderers resolve references: `<use>`
 * copies its target, each mask, clip, filter and pattern reference draws its target into one more
 * offscreen layer, a marker is drawn once per vertex. Cycles, expansion past `maxElements`,
 * more than MAX_LAYERS layers, an oversized canvas or an oversized filter/mask/pattern region
 * are refused.
 */
function checkRenderCost(top: Node, maxElements: number): void {
  const [width, height] = canvasSize(top);
  if (!(width <= MAX_CANVAS_SIDE && height <= MAX_CANVAS_SIDE && width * height <= MAX_CANVAS_PIXELS)) {
    throw new SvgInvalidError(
      `canvas ${Math.round(width)}×${Math.round(height)} is over the ${MAX_CANVAS_SIDE} px side / ${MAX_CANVAS_PIXELS} px limit`,
    );
  }
  const byId = new Map<string, Node>();
  const index = (node: Node) => {
    const id = attrOf(node, 'id');
    if (id !== undefined && !byId.has(id)) byId.set(id, node);
    checkRegion(node, Math.max(width, height));
    for (const c of node.children) if (typeof c !== 'string') index(c);
  };
  index(top);
  const cost = new Map<Node, { elements: number; layers: number }>();
  const visiting = new Set<Node>();
  const count = (node: Node): { elements: number; layers: number } => {
    const known = cost.get(node);
    if (known !== undefined) return known;
    if (visiting.has(node)) throw new SvgInvalidError('references form a cycle');
    visiting.add(node);
    let elements = 1;
    let layers = 0;
    for (const c of node.children) {
      if (typeof c === 'string') continue;
      const child = count(c);
      elements += child.elements;
      layers += child.layers;
    }
    for (const { name, id } of referencesOf(node)) {
      const target = byId.get(id);
      if (target === undefined) continue;
      if (name === 'href' && node.name === 'use') {
        const copied = count(target);
        elements += copied.elements;
        layers += copied.layers;
      } else if (LAYER_REFS.has(name) && LAYER_ELEMENTS.has(target.name)) {
        const drawn = count(target);
        elements += drawn.elements;
        layers += 1 + drawn.layers;
      } else if (MARKER_REFS.has(name) && target.name === 'marker') {
        const drawn = count(target);
        const vertices = vertexCount(node);
        elements += vertices * drawn.elements;
        layers += vertices * drawn.layers;
      }
      if (elements > maxElements) {
        throw new SvgInvalidError(`references expand to more than ${maxElements} elements`);
      }
      if (layers > MAX_LAYERS)
        throw new SvgInvalidError(`rendering takes more than ${MAX_LAYERS} offscreen layers`);
    }
    if (elements > maxElements)
      throw new SvgInvalidError(`<use> expands to more than ${maxElements} elements`);
    visiting.delete(node);
    const total = { elements, layers };
    cost.set(node, total);
    return total;
  };
  count(top);
}

/** A filter, mask or pattern region no larger than MAX_REGION_FACTOR canvases (or boxes). */
function checkRegion(node: Node, canvas: number): void {
  const units = REGION_UNITS[node.name];
  if (!units) return;
  const userSpace = (attrOf(node, units[0]) ?? units[1]) === 'userSpaceOnUse';
  for (const name of ['x', 'y', 'width', 'height']) {
    const raw = attrOf(node, name);
    if (raw === undefined) continue;
    const percent = raw.trim().endsWith('%');
    const value = Math.abs(Number.parseFloat(raw)) / (percent ? 100 : 1);
    const limit = userSpace && !percent ? MAX_REGION_FACTOR * canvas : MAX_REGION_FACTOR;
    if (!(value <= limit)) {
      throw new SvgInvalidError(
        `<${node.name}> region ${name}="${raw}" is over ${MAX_REGION_FACTOR}× the canvas`,
      );
    }
  }
}

function keepAttributes(element: string, tag: SaxesTagNS, removed: Set<string>): [string, string][] {
  const kept: [string, string][] = [];
  for (const attr of Object.values(tag.attributes)) {
    const { uri, local, value } = attr;
    if (attr.prefix === 'xmlns' || attr.name === 'xmlns') continue; // re-declared on output
    let name: string | null = null;
    if (uri === '' && (GEOMETRY.has(local) || PRESENTATION.has(local))) name = local;
    else if (uri === XML_NS && local === 'space') name = 'xml:space';
    else if (uri === '' && local === 'class' && /^[\w\s-]*$/.test(value))
      name = 'class'; // for <style>; dropped after
    else if ((uri === '' || uri === XLINK_NS) && local === 'href') name = uri === '' ? 'href' : 'xlink:href';
    if (name === null) {
      removed.add(`@${attr.name}`);
      continue;
    }
    const safe =
      name === 'class'
        ? value
        : name.endsWith('href')
          ? safeHref(element, value)
          : safeValue(name, value, removed);
    if (safe === null) {
      removed.add(`@${attr.name}`);
      continue;
    }
    kept.push([name, safe]);
  }
  // With both, browsers follow href and resvg xlink:href: keep href alone, so all draw the same.
  if (kept.some(([name]) => name === 'href') && kept.some(([name]) => name === 'xlink:href')) {
    removed.add('@xlink:href');
    return kept.filter(([name]) => name !== 'xlink:href');
  }
  return kept;
}

function safeHref(element: string, value: string): string | null {
  const v = value.trim();
  if (LOCAL_HREF.has(element) && ID.test(v.slice(1)) && v.startsWith('#')) return v;
  if (element === 'image' && RASTER_DATA.test(v)) return v.replace(/\s+/g, '');
  return null;
}

function safeValue(name: string, value: string, removed: Set<string>): string | null {
  if (name === 'id') return ID.test(value) ? value : null;
  if (name === 'style') {
    const style = safeStyle(value, removed);
    return style === '' ? null : style;
  }
  if (name === 'd') return PATH_DATA.test(value) ? value : null;
  if (NUMBER_LISTS.has(name)) return NUMBERS.test(value) ? value : null;
  if (TRANSFORMS.has(name)) return safeCssValue(value, TRANSFORM_FUNCTIONS) ? value : null;
  return safeCssValue(value, PAINT_FUNCTIONS) ? value : null;
}

const PATH_DATA = /^[MmZzLlHhVvCcSsQqTtAa\d\s,.eE+-]*$/;
const NUMBERS = /^[\d\s,.eE+-]*$/;
// biome-ignore format: packed lists read better
const NUMBER_LISTS = new Set([
  'points', 'viewBox', 'values', 'k1', 'k2', 'k3', 'k4', 'stdDeviation', 'rotate', 'dx', 'dy', 'pathLength',
]);
const TRANSFORMS = new Set(['transform', 'gradientTransform', 'patternTransform']);
/** CSS functions that compute a value from their arguments and never fetch anything. */
const PAINT_FUNCTIONS = new Set(['url', 'rgb', 'rgba', 'hsl', 'hsla']);
const TRANSFORM_FUNCTIONS = new Set(['matrix', 'translate', 'scale', 'rotate', 'skewx', 'skewy']);
/** Units a length, angle or percentage may carry; anything else after a number is refused. */
// biome-ignore format: packed lists read better
const UNITS = new Set(['', 'px', 'em', 'ex', 'pt', 'pc', 'cm', 'mm', 'in', 'rem', '%', 'deg', 'grad', 'rad', 'turn']);
// Letters (any script, for font names), digits, spaces and the punctuation values need; no
// backslash escapes, comments, braces, at-rules, semicolons, colons or slashes.
const VALUE_CHARS = /^[\p{L}\p{N}\s#%.,()'"+_-]*$/u;
// A call's name starts a token: glued to a number, colour or word (`1.5url(`, `#a0burl(`) it is
// that token's tail to a CSS tokenizer, so the lookbehind refuses it rather than read a call there.
const FUNCTION = /(?<![\p{L}\p{N}_#.%-])([A-Za-z-]*)\s*\(/gu;
const QUOTED = /(["'])(.*?)\1/g;
const FONT_NAME = /^[\p{L}\p{N} _-]*$/u;
const NUMBER_UNIT = /(?<![\p{L}\p{N}_#-])[+-]?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?([\p{L}%]*)/giu;

/**
 * A value is safe when it is built from allow-listed parts only: functions from `functions` (a
 * url() only as a local `#id` reference), numbers with allow-listed units, hex colours, keywords
 * and quoted font names. Whatever else CSS grows (image-set, cross-fade, var, attr…) fails closed.
 */
function safeCssValue(value: string, functions: ReadonlySet<string>): boolean {
  if (!VALUE_CHARS.test(value)) return false;
  let rest = value;
  for (const match of value.matchAll(FUNCTION)) {
    const name = match[1].toLowerCase();
    if (!functions.has(name)) return false;
    if (name === 'url' && !LOCAL_URL.test(value.slice(match.index))) return false;
  }
  // Every parenthesis belongs to one of those calls, and they are balanced.
  const opened = (value.match(/\(/g) ?? []).length;
  if (opened !== [...value.matchAll(FUNCTION)].length || opened !== (value.match(/\)/g) ?? []).length) {
    return false;
  }
  rest = rest.replace(new RegExp(LOCAL_URL.source.slice(1), 'gi'), ' ');
  for (const [, , inner] of rest.matchAll(QUOTED)) if (!FONT_NAME.test(inner)) return false;
  rest = rest.replace(QUOTED, ' ');
  if (/["']/.test(rest)) return false;
  rest = rest.replace(/#[0-9a-f]{3,8}(?![\w-])/gi, ' ');
  if (rest.includes('#')) return false;
  for (const [, unit] of rest.matchAll(NUMBER_UNIT)) if (!UNITS.has(unit.toLowerCase())) return false;
  return true;
}

function safeStyle(style: string, removed: Set<string>): string {
  const kept: string[] = [];
  for (const declaration of style.split(';')) {
    if (declaration.trim() === '') continue;
    const colon = declaration.indexOf(':');
    const property = (colon < 0 ? declaration : declaration.slice(0, colon)).trim().toLowerCase();
    const value = colon < 0 ? '' : declaration.slice(colon + 1).trim();
    if (PRESENTATION.has(property) && value !== '' && safeCssValue(value, PAINT_FUNCTIONS))
      kept.push(`${property}:${value}`);
    else removed.add(`style:${property.slice(0, 40)}`);
  }
  return kept.join(';');
}

interface StyleRule {
  readonly selector: { tag?: string; id?: string; classes: string[] };
  readonly specificity: number;
  readonly order: number;
  readonly declarations: [string, string][];
}

const SIMPLE_SELECTOR = /^([A-Za-z][\w-]*|\*)?((?:[.#][A-Za-z_][\w-]*)*)$/;

/**
 * A <style> sheet, reduced to what is safe and simple: rules whose selectors are a type, class
 * and/or id (no combinators, attributes or pseudo-classes), and declarations that pass safeStyle.
 * At-rules (@import, @font-face, @media…) and escapes are dropped.
 */
function parseStylesheet(css: string, removed: Set<string>): StyleRule[] {
  const text = css.replace(/\/\*[\s\S]*?\*\//g, ' ');
  if (/[\\<]/.test(text)) {
    removed.add('<style>');
    return [];
  }
  const rules: StyleRule[] = [];
  let at = 0;
  let order = 0;
  while (at < text.length) {
    const open = text.indexOf('{', at);
    const semicolon = text.indexOf(';', at);
    const head = text.slice(at, open < 0 ? undefined : open).trim();
    if (head.startsWith('@') && semicolon >= 0 && (open < 0 || semicolon < open)) {
      removed.add(`style:${head.split(/[\s(]/)[0].slice(0, 40)}`); // @import …;
      at = semicolon + 1;
      continue;
    }
    if (open < 0) break;
    // The block's end, nested braces (an @media body) included.
    let depth = 0;
    let close = open;
    for (; close < text.length; close++) {
      if (text[close] === '{') depth += 1;
      else if (text[close] === '}' && --depth === 0) break;
    }
    const body = text.slice(open + 1, close);
    at = close + 1;
    if (head.startsWith('@') || body.includes('{')) {
      removed.add(`style:${head.split(/[\s(]/)[0].slice(0, 40)}`);
      continue;
    }
    const declarations = safeStyle(body, removed)
      .split(';')
      .filter(Boolean)
      .map((declaration) => {
        const colon = declaration.indexOf(':');
        return [declaration.slice(0, colon), declaration.slice(colon + 1)] as [string, string];
      });
    for (const raw of head.split(',')) {
      const match = SIMPLE_SELECTOR.exec(raw.trim());
      if (!match || raw.trim() === '') {
        removed.add('style:selector');
        continue;
      }
      const parts = match[2].match(/[.#][^.#]+/g) ?? [];
      const ids = parts.filter((p) => p.startsWith('#')).map((p) => p.slice(1));
      const classes = parts.filter((p) => p.startsWith('.')).map((p) => p.slice(1));
      const tag = match[1] && match[1] !== '*' ? match[1] : undefined;
      if (ids.length > 1) continue; // two ids match nothing
      rules.push({
        selector: { tag, id: ids[0], classes },
        specificity: ids.length * 100 + classes.length * 10 + (tag ? 1 : 0),
        order: order++,
        declarations,
      });
    }
  }
  return rules;
}

/**
 * Applies a sheet the way the cascade would, as presentation attributes: a matching rule beats the
 * element's own presentation attribute (so it replaces it), inline `style` still beats both, and
 * among rules the higher specificity, then the later one, wins. `class` goes once it is used.
 */
function applyStylesheet(top: Node, css: string, removed: Set<string>): void {
  const rules = css.trim() === '' ? [] : parseStylesheet(css, removed);
  const visit = (node: Node) => {
    const classes = new Set((attrOf(node, 'class') ?? '').split(/\s+/).filter(Boolean));
    const id = attrOf(node, 'id');
    const matched = rules
      .filter(({ selector }) => {
        if (selector.tag !== undefined && selector.tag !== node.name) return false;
        if (selector.id !== undefined && selector.id !== id) return false;
        return selector.classes.every((c) => classes.has(c));
      })
      .sort((a, b) => a.specificity - b.specificity || a.order - b.order);
    const values = new Map<string, string>();
    for (const rule of matched)
      for (const [property, value] of rule.declarations) values.set(property, value);
    node.attrs = node.attrs.filter(([name]) => name !== 'class' && !values.has(name));
    for (const [property, value] of values) node.attrs.push([property, value]);
    for (const child of node.children) if (typeof child !== 'string') visit(child);
  };
  visit(top);
}

const escapeText = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const escapeAttr = (s: string) => escapeText(s).replace(/"/g, '&quot;');

/** Serializes a tree from sanitizeSvgTree; names and values are escaped, nothing is re-checked. */
export function serializeSvg(node: SvgNode): string {
  const attrs = node.attrs.map(([name, value]) => ` ${name}="${escapeAttr(value)}"`).join('');
  if (node.children.length === 0) return `<${node.name}${attrs}/>`;
  const inner = node.children.map((c) => (typeof c === 'string' ? escapeText(c) : serializeSvg(c))).join('');
  return `<${node.name}${attrs}>${inner}</${node.name}>`;
}
