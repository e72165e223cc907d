// The offline template composer: prompt → a 512×512 Chat2SVG-style template SVG built from flat
// emoji icons laid out by the prompt's relations. No network, no model; deterministic per
// (prompt, style, seed). Embedded default of the template stage and its fallback.
import { COLOR_WORDS, recolor } from './color.ts';
import { iconIndex, loadIconIndex } from './icon-set.ts';
import { type DepKind, isWearable, type LayoutNode, layoutScene } from './layout.ts';
import { type ParsedPrompt, type Phrase, PORTIONS, parsePrompt } from './parse-prompt.ts';
import { backdrop, type Element } from './scenes.ts';
import { renderShape } from './shapes.ts';
import { fmt } from './svg-path.ts';

export interface ComposeInput {
  prompt: string;
  style?: string;
  seed?: number;
}

export interface ComposedTemplate {
  svg: string;
  /** Icon names drawn, in drawing order, without repeats. */
  objects: string[];
  /** The relations applied, e.g. "dog wearing chef hat". */
  relations: string[];
  /** Number of shape elements (each with an id path_N). */
  elements: number;
  /** Settings drawn as the background (scenes.ts names). */
  scenes: string[];
  /** Which ids draw which object (inclusive range), background first: semantic groups for later stages. */
  parts: { name: string; first: number; last: number }[];
}

const MAX_OBJECTS = 4;
// Parts that belong on their subject ("an apple with leaves"), not beside it.
const PARTS =
  /^(leaf|leaves|stem|stalk|twig|petal|sprout|seedling|herb|shamrock|four-leaf-clover|fallen-leaf|maple-leaf|leaf-fluttering-in-wind)$/;
const SCENE_OBJECTS: Record<string, string> = {
  beach: 'palm-tree',
  night: 'crescent-moon',
  forest: 'evergreen-tree',
  city: 'office-building',
  sky: 'cloud',
  field: 'blossom',
  park: 'deciduous-tree',
  garden: 'tulip',
  farm: 'cow',
  village: 'house',
  mud: 'pig',
  hill: 'deciduous-tree',
  jungle: 'monkey',
  island: 'palm-tree',
  ice: 'penguin',
  mountains: 'evergreen-tree',
  valley: 'house',
  pond: 'frog',
  lake: 'canoe',
  river: 'canoe',
  waterfall: 'rock',
  road: 'automobile',
  pool: 'beach-with-umbrella',
  'open sea': 'sailboat',
  cave: 'bat',
  storm: 'cloud-with-lightning-and-rain',
  snowfall: 'snowman',
  'living room': 'couch-and-lamp',
  kitchen: 'cooking',
  bedroom: 'bed',
  bathroom: 'bathtub',
  classroom: 'school-backpack',
  garage: 'automobile',
  stage: 'microphone',
  desert: 'cactus',
  snow: 'snowman',
  ocean: 'tropical-fish',
  space: 'ringed-planet',
  room: 'couch-and-lamp',
  sunset: 'palm-tree',
  rain: 'umbrella-with-rain-drops',
};
const FALLBACK_ICON = 'framed-picture';
// Styles that ask for the object alone, without a setting.
const PLAIN_STYLE = /\b(icon|logo|sticker|minimal|plain|no background|isolated|emoji)\b/i;

interface Node extends LayoutNode {
  label: string;
  color?: string;
  isDep: boolean;
  parent?: Node;
  deps: { node: Node; kind: DepKind }[];
}

function seeded(prompt: string, style: string, seed: number): () => number {
  // FNV-1a over the inputs, then mulberry32: a small, stable generator.
  let h = 0x811c9dc5;
  for (const ch of `${prompt}\u0000${style}\u0000${seed}`) {
    h ^= ch.codePointAt(0) ?? 0;
    h = Math.imul(h, 0x01000193);
  }
  let a = h >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The icon for a phrase: its colour-named icon, then its longest compound, then its head word. */
function resolve(phrase: Phrase): string | undefined {
  const ix = iconIndex();
  const { words, written } = phrase;
  const n = words.length;
  if (n === 0) return undefined;
  if (phrase.color) {
    const hit = exactOnly(`${phrase.color} ${words[n - 1]}`);
    if (hit) return hit;
  }
  // Compounds before their head: "magnifying glass" is not a wine glass, "tennis ball" no football.
  for (let k = n; k >= 2; k--) {
    const span = words.slice(n - k);
    const spanWritten = written.slice(n - k);
    const hit =
      ix.lookup(span.join(' ')) ??
      ix.lookup(spanWritten.join(' ')) ??
      // Icon names keep "of" ("glass of milk") while phrases drop it.
      (k === 2 ? ix.lookup(`${spanWritten[0]} of ${spanWritten[1]}`) : undefined) ??
      ix.lookupAll(span.map((w, i) => [w, spanWritten[i]]));
    if (hit) return hit;
  }
  // "a watermelon slice": the slice is of the watermelon.
  if (n >= 2 && PORTIONS.has(words[n - 1]))
    return resolve({ ...phrase, words: words.slice(0, -1), written: written.slice(0, -1) });
  for (const t of [written[n - 1], words[n - 1], ...words.slice(0, -1).reverse()]) {
    const hit = ix.lookup(t);
    if (hit) return hit;
  }
  return undefined;
}

function exactOnly(phrase: string): string | undefined {
  const name = phrase.replace(/ /g, '-');
  return iconIndex().has(name) && iconIndex().icon(name).shapes.length > 0 ? name : undefined;
}

function buildNodes(parsed: ParsedPrompt): { roots: Node[]; nodes: Node[]; relations: string[] } {
  const ix = iconIndex();
  const byPhrase = new Map<number, Node>();
  const nodes: Node[] = [];
  parsed.phrases.forEach((phrase, i) => {
    if (nodes.length >= MAX_OBJECTS) return;
    const name = resolve(phrase);
    if (!name) return;
    const node: Node = {
      icon: ix.icon(name),
      deps: [],
      label: phrase.written.join(' '),
      color: phrase.color && !name.startsWith(`${phrase.color}-`) ? COLOR_WORDS[phrase.color] : undefined,
      isDep: false,
    };
    byPhrase.set(i, node);
    nodes.push(node);
  });
  const applied: string[] = [];
  const within = (node: Node, ancestor: Node): boolean => {
    for (let n: Node | undefined = node; n; n = n.parent) if (n === ancestor) return true;
    return false;
  };
  for (const r of parsed.relations) {
    const subject = byPhrase.get(r.subject);
    if (!subject) continue;
    if (r.kind === 'in the sky') {
      subject.sky = true;
      applied.push(`${subject.label} in the sky`);
      continue;
    }
    const object = r.object === undefined ? undefined : byPhrase.get(r.object);
    if (!object) continue;
    let base: Node = subject;
    let dep: Node = object;
    let kind: DepKind | undefined;
    switch (r.kind) {
      case 'wearing':
      case 'holding':
        kind = r.kind;
        break;
      case 'with':
        kind = isWearable(object.icon.name)
          ? 'wearing'
          : PARTS.test(object.icon.name) || PARTS.test(object.label)
            ? 'part'
            : 'holding';
        break;
      case 'behind':
        kind = 'front';
        break;
      case 'next to':
        kind = undefined;
        break;
      default:
        base = object;
        dep = subject;
        kind = (
          {
            on: 'on',
            under: 'under',
            below: 'under',
            above: 'above',
            inside: 'inside',
            'in front of': 'front',
          } as const
        )[r.kind];
    }
    if (kind && !dep.isDep && !within(base, dep)) {
      dep.isDep = true;
      dep.parent = base;
      base.deps.push({ node: dep, kind });
    }
    applied.push(`${subject.label} ${r.kind} ${object.label}`);
  }
  // A hat sits best on a face: use the "-face" icon of a subject that wears something on its head.
  for (const node of nodes) {
    const wearsHat = node.deps.some((d) => d.kind === 'wearing');
    const face = `${node.icon.name}-face`;
    if (wearsHat && ix.has(face) && ix.icon(face).shapes.length > 0) node.icon = ix.icon(face);
  }
  const roots = nodes.filter((n) => !n.isDep);
  return { roots, nodes, relations: applied };
}

function expandCounts(roots: Node[], parsed: ParsedPrompt, total: number): Node[] {
  const out: Node[] = [];
  let budget = MAX_OBJECTS - total;
  for (const root of roots) {
    out.push(root);
    const phrase = parsed.phrases.find((p) => p.written.join(' ') === root.label);
    for (let k = 1; k < (phrase?.count ?? 1) && budget > 0 && root.deps.length === 0; k++, budget--)
      out.push({ ...root, deps: [] });
  }
  return out;
}

function elementXml(el: Element, id: string): string {
  const attrs = Object.entries(el.attrs).map(([k, v]) => `${k}="${typeof v === 'number' ? fmt(v) : v}"`);
  return `<${el.tag} id="${id}" ${attrs.join(' ')}/>`;
}

export async function composeTemplate(input: ComposeInput): Promise<ComposedTemplate> {
  await loadIconIndex();
  return composeLoaded(input);
}

function composeLoaded({ prompt, style = '', seed = 0 }: ComposeInput): ComposedTemplate {
  const rand = seeded(prompt, style, seed);
  const jitter = () => Math.round((rand() - 0.5) * 12);
  const ix = iconIndex();
  const parsed = parsePrompt(prompt, {
    knows: (words) =>
      ix.lookup(words.join(' ')) !== undefined || ix.lookupAll(words.map((w) => [w])) !== undefined,
  });
  const { roots: found, nodes, relations } = buildNodes(parsed);
  let roots = expandCounts(found, parsed, nodes.length);
  // Something standing under an open sky still needs ground to stand on.
  const scenes =
    parsed.scenes.length === 1 && parsed.scenes[0] === 'sky' && found.some((r) => !r.sky)
      ? ['sky', 'field']
      : parsed.scenes;
  const scene = PLAIN_STYLE.test(style) ? undefined : backdrop(scenes, rand);
  if (roots.length === 0) {
    // Never an empty picture: the setting's typical object, else any word we know, else a picture frame.
    const words = parsed.phrases.flatMap((p) => p.words);
    const name =
      parsed.scenes.map((s) => SCENE_OBJECTS[s]).find(Boolean) ??
      words.map((w) => ix.lookup(w)).find(Boolean) ??
      FALLBACK_ICON;
    roots = [{ icon: ix.icon(name), deps: [], label: name, isDep: false }];
  }

  const groundY = scene?.groundY;
  // In a setting, objects leave some of it visible; alone they fill the canvas like an icon.
  const floor = groundY === undefined ? 480 : Math.min(484, groundY + 36);
  const span = groundY === undefined ? 448 : roots.length === 1 ? 330 : 456;
  const height = groundY === undefined ? 448 : Math.min(floor - 40, roots.length === 1 ? 340 : floor - 40);
  const area = { x: 256 - span / 2, y: floor - height, w: span, h: height };
  const placements = layoutScene(roots, area, jitter);

  const xml: string[] = [];
  const parts: ComposedTemplate['parts'] = [];
  let n = 0;
  for (const el of scene?.elements ?? []) xml.push(elementXml(el, `path_${++n}`));
  if (n > 0) parts.push({ name: 'background', first: 1, last: n });
  const objects: string[] = [];
  for (const p of placements) {
    const node = p.node as Node;
    const fills = node.color ? recolor(node.icon.shapes, node.color) : [];
    const first = n + 1;
    node.icon.shapes.forEach((shape, i) => {
      xml.push(renderShape(shape, `path_${++n}`, p.scale, p.tx, p.ty, fills[i]));
    });
    parts.push({ name: node.icon.name, first, last: n });
    if (!objects.includes(node.icon.name)) objects.push(node.icon.name);
  }
  const svg =
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 512 512" width="512" height="512">' +
    xml.join('') +
    '</svg>';
  return { svg, objects, scenes: scene?.scenes ?? [], relations, elements: n, parts };
}
