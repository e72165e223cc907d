// Places objects on the 512×512 canvas from their relations: independent objects share a row,
// each one's dependants (worn, held, on top, under, above, inside, in front) sit in boxes derived
// from where the base object was actually drawn.
import type { Icon } from './icon-set.ts';
import type { Box } from './svg-path.ts';

export type DepKind = 'wearing' | 'holding' | 'part' | 'on' | 'under' | 'above' | 'inside' | 'front';

export interface LayoutNode {
  icon: Icon;
  deps: { node: LayoutNode; kind: DepKind }[];
  /** 'in the sky' without a base: drawn smaller, high up. */
  sky?: boolean;
}

export interface Placement {
  node: LayoutNode;
  scale: number;
  tx: number;
  ty: number;
  /** Canvas rectangle of the drawn content. */
  rect: Box;
}

type Align = 'bottom' | 'center' | 'top';

const WEAR_ZONES: Record<string, 'head' | 'eyes' | 'neck' | 'feet' | 'body'> = {
  'chef-hat': 'head',
  'top-hat': 'head',
  'womans-hat': 'head',
  'billed-cap': 'head',
  'graduation-cap': 'head',
  crown: 'head',
  'military-helmet': 'head',
  'rescue-workers-helmet': 'head',
  headphone: 'head',
  glasses: 'eyes',
  sunglasses: 'eyes',
  goggles: 'eyes',
  'diving-mask': 'eyes',
  scarf: 'neck',
  necktie: 'neck',
  ribbon: 'neck',
  'prayer-beads': 'neck',
  'sports-medal': 'neck',
  'running-shoe': 'feet',
  'hiking-boot': 'feet',
  'mans-shoe': 'feet',
  'womans-boot': 'feet',
  'high-heeled-shoe': 'feet',
  'flat-shoe': 'feet',
  'ballet-shoes': 'feet',
  'womans-sandal': 'feet',
  'thong-sandal': 'feet',
  socks: 'feet',
  't-shirt': 'body',
  dress: 'body',
  coat: 'body',
  'lab-coat': 'body',
  kimono: 'body',
  sari: 'body',
  bikini: 'body',
  'running-shirt': 'body',
  gloves: 'body',
};

export const isWearable = (iconName: string): boolean => iconName in WEAR_ZONES;
export const wearZone = (iconName: string) => WEAR_ZONES[iconName] ?? 'head';

// Things that hang or fly above what is under them.
const OVERHEAD =
  /umbrella|cloud|sun|moon|star|rainbow|balloon|airplane|helicopter|bird|lamp|light|kite|parachute/;
// Open containers and where their rim is, as a fraction of the icon's height (a basket's handle
// rises above it). What is in a side-view container (basket, vase, bucket) is drawn behind its
// front and shows above the rim; in a bowl seen from above it lies in front, heaped in the opening.
const CONTAINERS: [RegExp, number, 'behind' | 'front'][] = [
  [/basket/, 0.42, 'behind'],
  [/^vase$|bucket|handbag|shopping|pot-of-food|honey-pot/, 0.08, 'behind'],
  [/bowl|plate|cup|beverage|mug/, 0.3, 'front'],
];
const containerOf = (name: string) => CONTAINERS.find(([re]) => re.test(name));
// Things one sits in rather than on top of: their surface is well below the top of the icon.
const SEATS = /couch|chair|bed|bench|sofa|toilet|bathtub|basket|boat|canoe|car|automobile|taxi|truck|bus/;

/** Scale + offset that fit the icon's content box into `box`, keeping proportions. */
function fitInto(
  icon: Icon,
  target: Box,
  align: Align,
): { scale: number; tx: number; ty: number; rect: Box } {
  // Crowded layouts can squeeze a slot to nothing; keep every object visible at a small size.
  const box = grow(target, MIN_SIZE);
  const c = icon.box;
  const scale = Math.min(box.w / c.w, box.h / c.h);
  const w = c.w * scale;
  const h = c.h * scale;
  const x = box.x + (box.w - w) / 2;
  const y = align === 'bottom' ? box.y + box.h - h : align === 'top' ? box.y : box.y + (box.h - h) / 2;
  return { scale, tx: x - c.x * scale, ty: y - c.y * scale, rect: { x, y, w, h } };
}

/** Where the head is: the shapes reaching into the top quarter of the content. */
function headOf(icon: Icon): { cx: number; w: number; h: number } {
  const c = icon.box;
  const band = c.y + c.h * 0.28;
  let minX = Number.POSITIVE_INFINITY;
  let maxX = Number.NEGATIVE_INFINITY;
  let maxY = c.y;
  for (const s of icon.shapes) {
    if (s.box.y > band || s.box.w * s.box.h < c.w * c.h * 0.004) continue;
    minX = Math.min(minX, s.box.x);
    maxX = Math.max(maxX, s.box.x + s.box.w);
    maxY = Math.max(maxY, Math.min(s.box.y + s.box.h, c.y + c.h * 0.6));
  }
  if (minX > maxX) return { cx: 0.5, w: 1, h: 0.5 };
  // Relative to the content box, so it maps onto any placement.
  return { cx: ((minX + maxX) / 2 - c.x) / c.w, w: (maxX - minX) / c.w, h: (maxY - c.y) / c.h };
}

const box = (x: number, y: number, w: number, h: number): Box => ({ x, y, w, h });
const MIN_SIZE = 40;

function grow(b: Box, min: number): Box {
  const w = Math.max(b.w, min);
  const h = Math.max(b.h, min);
  return { x: b.x + (b.w - w) / 2, y: b.y + b.h - h, w, h };
}

// Stacking among a base's dependants: things behind it, then on/under/in front, then held, then worn.
const STACK: DepKind[] = ['under', 'above', 'on', 'inside', 'front', 'part', 'holding', 'wearing'];

/** Placements in drawing order. */
export function layoutScene(roots: LayoutNode[], area: Box, jitter: () => number): Placement[] {
  const out = new Map<LayoutNode, Placement>();
  const gap = roots.length > 1 ? 16 : 0;
  const colW = (area.w - gap * (roots.length - 1)) / roots.length;
  roots.forEach((root, i) => {
    const col = box(area.x + i * (colW + gap) + jitter(), area.y, colW, area.h);
    if (root.sky) {
      const size = Math.min(col.w, area.h) * 0.55;
      place(root, box(col.x + (col.w - size) / 2, area.y, size, size), 'center', out, jitter);
    } else place(root, col, 'bottom', out, jitter);
  });
  const ordered: Placement[] = [];
  const visit = (node: LayoutNode) => {
    const deps = [...node.deps].sort((a, b) => STACK.indexOf(a.kind) - STACK.indexOf(b.kind));
    const behind = (d: (typeof deps)[number]) =>
      (d.kind === 'part' && /stem/.test(d.node.icon.name)) ||
      (d.kind === 'inside' && containerOf(node.icon.name)?.[2] === 'behind');
    for (const d of deps) if (behind(d)) visit(d.node);
    const own = out.get(node);
    if (own) ordered.push(own);
    for (const d of deps) if (!behind(d)) visit(d.node);
  };
  for (const root of roots) visit(root);
  return ordered;
}

/** Places node and (recursively) its dependants inside region; returns the node's drawn rectangle. */
function place(
  node: LayoutNode,
  region: Box,
  align: Align,
  out: Map<LayoutNode, Placement>,
  jitter: () => number,
): Box {
  const kinds = new Set(node.deps.map((d) => d.kind));
  const zones = new Set(node.deps.filter((d) => d.kind === 'wearing').map((d) => wearZone(d.node.icon.name)));
  let top = 0;
  if (kinds.has('above')) top = 0.4;
  if (kinds.has('on')) top = Math.max(top, 0.45);
  if (zones.has('head')) top = Math.max(top, 0.26);
  if (kinds.has('part')) top = Math.max(top, 0.14);
  // Room above an open container for what shows over its rim.
  if (kinds.has('inside') && containerOf(node.icon.name))
    top = Math.max(top, 0.3 - (containerOf(node.icon.name)?.[1] ?? 0) / 2);
  const overhead = OVERHEAD.test(node.icon.name);
  const bottom = kinds.has('under') && overhead ? 0.32 : zones.has('neck') || zones.has('feet') ? 0.12 : 0;
  const side = kinds.has('holding') ? 0.72 : 1;
  let baseBox = box(region.x, region.y + region.h * top, region.w * side, region.h * (1 - top - bottom));
  if (kinds.has('front'))
    baseBox = box(region.x + region.w * 0.22, region.y, region.w * 0.78, region.h * 0.82);
  const drawn = fitInto(node.icon, baseBox, bottom > 0 ? 'top' : align);
  out.set(node, { node, ...drawn });
  const r = drawn.rect;
  const head = headOf(node.icon);
  const seen = new Map<DepKind, number>();
  for (const { node: dep, kind } of node.deps) {
    const nth = seen.get(kind) ?? 0;
    seen.set(kind, nth + 1);
    const mirror = nth % 2 === 1 ? -1 : 1;
    let target: Box;
    let depAlign: Align = 'center';
    switch (kind) {
      case 'wearing': {
        const zone = wearZone(dep.icon.name);
        const hx = r.x + head.cx * r.w;
        const hw = Math.max(head.w * r.w, r.w * 0.35);
        if (zone === 'head') {
          const w = Math.min(hw * 0.8, region.w);
          const h = w * 0.75;
          target = box(hx - w / 2, r.y + r.h * head.h * 0.38 - h, w, h);
          depAlign = 'bottom';
        } else if (zone === 'eyes') {
          const w = hw * 0.85;
          target = box(hx - w / 2, r.y + r.h * head.h * 0.35, w, w * 0.6);
        } else if (zone === 'neck') {
          // Under the chin: the bottom of a face icon, below the head of a full figure.
          const w = hw * 0.75;
          target = box(hx - w / 2, r.y + r.h * Math.min(1, head.h * 1.45) - w * 0.2, w, w * 0.6);
        } else if (zone === 'feet') {
          const w = r.w * 0.32;
          target = box(r.x + r.w / 2 - w / 2 + mirror * w * 0.5, r.y + r.h - w * 0.6, w, w * 0.6);
        } else target = box(r.x + r.w * 0.28, r.y + r.h * 0.45, r.w * 0.44, r.h * 0.5);
        break;
      }
      case 'part': {
        const stemLike = /stem/.test(dep.icon.name);
        const w = r.w * (stemLike ? 0.12 : 0.36);
        const h = r.h * (stemLike ? 0.3 : 0.36);
        const cx = r.x + r.w * (stemLike ? 0.5 : 0.5 + mirror * 0.22);
        target = box(cx - w / 2, r.y - h * (stemLike ? 0.55 : 0.75), w, h);
        depAlign = 'bottom';
        break;
      }
      case 'holding': {
        const size = Math.max(r.w, r.h) * 0.5;
        const cx = Math.min(region.x + region.w - size / 2, r.x + r.w * 0.95);
        target = box(mirror > 0 ? cx - size / 2 : r.x - size / 2, r.y + r.h * 0.55 - size / 2, size, size);
        break;
      }
      case 'on': {
        const surface = SEATS.test(node.icon.name) ? 0.42 : 0.06;
        const bottomY = r.y + r.h * surface;
        target = box(r.x + r.w * 0.18 + mirror * nth * r.w * 0.1, region.y, r.w * 0.64, bottomY - region.y);
        depAlign = 'bottom';
        break;
      }
      case 'above': {
        const size = Math.min(region.w * 0.42, r.y - region.y);
        const cx = r.x + r.w / 2 + mirror * nth * size;
        target = box(cx - size / 2, region.y, size, size);
        break;
      }
      case 'under': {
        // Below something overhead (umbrella, cloud); otherwise between its legs or at its foot.
        const floor = overhead ? region.y + region.h : r.y + r.h;
        const h = overhead ? floor - (r.y + r.h * 0.45) : r.h * 0.55;
        const w = Math.min(r.w * 0.5, h);
        target = box(r.x + r.w / 2 - w / 2 + mirror * nth * w * 0.6, floor - h, w, h);
        depAlign = 'bottom';
        break;
      }
      case 'inside': {
        const container = containerOf(node.icon.name);
        if (!container) target = box(r.x + r.w * 0.25, r.y + r.h * 0.25, r.w * 0.5, r.h * 0.5);
        else {
          // Sunk a little below the rim: the front of the container hides (or overlaps) its base.
          const h = r.h * 0.6;
          const bottom = r.y + r.h * (container[1] + 0.08);
          target = box(r.x + r.w * 0.2 + mirror * nth * r.w * 0.15, bottom - h, r.w * 0.6, h);
          depAlign = 'bottom';
        }
        break;
      }
      case 'front':
        target = box(region.x, region.y + region.h * 0.42, region.w * 0.56, region.h * 0.58);
        depAlign = 'bottom';
        break;
    }
    place(dep, jitterBox(target, jitter), depAlign, out, jitter);
  }
  return r;
}

function jitterBox(b: Box, jitter: () => number): Box {
  const j = jitter() * 0.25;
  return { ...b, x: b.x + j };
}
