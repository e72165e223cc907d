// The word → icon index over Fluent Emoji Flat (MIT, Microsoft; see THIRD_PARTY_NOTICES.md) with
// emojibase keywords. Built once per process on first use; icon bodies are parsed on demand.
import { CUSTOM_ICONS } from './custom-icons.ts';
import { contentBox, parseIconBody, type Shape } from './shapes.ts';
import type { Box } from './svg-path.ts';

export interface Icon {
  name: string;
  shapes: Shape[];
  box: Box;
}

interface IconSetJson {
  icons: Record<string, { body: string }>;
  aliases?: Record<string, { parent: string }>;
}
interface EmojibaseEntry {
  hexcode: string;
  label: string;
  tags?: string[];
}

// Words whose best icon the name/keyword scoring would not pick (ambiguous or synonyms).
const PREFERRED: Record<string, string> = {
  apple: 'red-apple',
  tree: 'deciduous-tree',
  pine: 'evergreen-tree',
  palm: 'palm-tree',
  dog: 'dog',
  puppy: 'dog',
  cat: 'cat',
  kitten: 'cat',
  kitty: 'cat',
  car: 'automobile',
  auto: 'automobile',
  house: 'house',
  home: 'house',
  cottage: 'house-with-garden',
  hat: 'top-hat',
  cap: 'billed-cap',
  flower: 'tulip',
  plant: 'potted-plant',
  bird: 'bird',
  boat: 'sailboat',
  ship: 'passenger-ship',
  plane: 'airplane',
  aeroplane: 'airplane',
  jet: 'airplane',
  bike: 'bicycle',
  phone: 'mobile-phone',
  computer: 'laptop',
  ball: 'soccer-ball',
  book: 'closed-book',
  cup: 'hot-beverage',
  mug: 'hot-beverage',
  coffee: 'hot-beverage',
  tea: 'teacup-without-handle',
  bowl: 'bowl-with-spoon',
  moon: 'crescent-moon',
  star: 'star',
  sun: 'sun',
  cloud: 'cloud',
  clouds: 'cloud',
  pumpkin: 'jack-o-lantern',
  doctor: 'health-worker',
  nurse: 'health-worker',
  chef: 'cook',
  wizard: 'person-mage',
  pirate: 'pirate-flag',
  witch: 'woman-mage',
  king: 'person-with-crown',
  queen: 'person-with-crown',
  pot: 'pot-of-food',
  box: 'package',
  fish: 'fish',
  mouse: 'mouse',
  bear: 'bear',
  horse: 'horse',
  cow: 'cow',
  pig: 'pig',
  sheep: 'ewe',
  lamb: 'ewe',
  bee: 'honeybee',
  bunny: 'rabbit',
  rabbit: 'rabbit',
  man: 'man',
  woman: 'woman',
  person: 'person',
  people: 'person',
  boy: 'boy',
  girl: 'girl',
  child: 'child',
  kid: 'child',
  children: 'child',
  kids: 'child',
  cabin: 'hut',
  'log cabin': 'hut',
  baby: 'baby',
  cake: 'shortcake',
  burger: 'hamburger',
  donut: 'doughnut',
  fries: 'french-fries',
  'ice cream': 'soft-ice-cream',
  icecream: 'soft-ice-cream',
  cheese: 'cheese-wedge',
  corn: 'ear-of-corn',
  pepper: 'hot-pepper',
  cherry: 'cherries',
  grape: 'grapes',
  orange: 'tangerine',
  truck: 'delivery-truck',
  'fire truck': 'fire-engine',
  firetruck: 'fire-engine',
  ufo: 'flying-saucer',
  spaceship: 'rocket',
  clock: 'alarm-clock',
  glass: 'wine-glass',
  wine: 'wine-glass',
  beer: 'beer-mug',
  saw: 'carpentry-saw',
  gift: 'wrapped-gift',
  present: 'wrapped-gift',
  heart: 'red-heart',
  bulb: 'light-bulb',
  lightbulb: 'light-bulb',
  shoe: 'running-shoe',
  sneaker: 'running-shoe',
  boot: 'hiking-boot',
  shirt: 't-shirt',
  tshirt: 't-shirt',
  lightning: 'high-voltage',
  gun: 'water-pistol',
  building: 'office-building',
  office: 'office-building',
  skyscraper: 'office-building',
  tower: 'tokyo-tower',
  piano: 'musical-keyboard',
  drum: 'drum',
  water: 'water-wave',
  wave: 'water-wave',
  fire: 'fire',
  flame: 'fire',
  mountain: 'snow-capped-mountain',
  hill: 'mountain',
  rock: 'rock',
  stone: 'rock',
  pencil: 'pencil',
  pen: 'pen',
  brush: 'paintbrush',
  paint: 'artist-palette',
  teddy: 'teddy-bear',
  toy: 'teddy-bear',
  dinosaur: 'sauropod',
  dino: 'sauropod',
  bag: 'handbag',
  rose: 'rose',
  mushroom: 'mushroom',
  window: 'window',
  door: 'door',
  key: 'old-key',
  tie: 'necktie',
  necktie: 'necktie',
  necklace: 'prayer-beads',
  scarf: 'scarf',
  glasses: 'glasses',
  spectacles: 'glasses',
  sunglasses: 'sunglasses',
  bone: 'bone',
  milk: 'glass-of-milk',
  chocolate: 'chocolate-bar',
  'hot chocolate': 'hot-beverage',
  beard: 'man-beard',
};

// Names an emoji is commonly called that emojibase does not list, each true of the drawn icon; they
// count as its keywords both for lookup and for judging what a picture shows.
const KEYWORDS: Record<string, string[]> = {
  locked: ['padlock', 'lock'],
  watermelon: ['watermelon slice', 'slice'],
  'hot-beverage': ['cup', 'mug', 'coffee cup', 'coffee mug'],
  'soft-ice-cream': ['cone', 'ice cream cone'],
  'flying-disc': ['frisbee'],
  tennis: ['tennis ball'],
  'french-fries': ['fries', 'chips'],
  'cup-with-straw': ['soda', 'soft drink', 'milkshake'],
  'fishing-pole': ['fishing rod', 'rod'],
  'bottle-with-popping-cork': ['wine bottle', 'wine', 'champagne'],
  rocket: ['spaceship', 'spacecraft'],
};

const SKIN_VARIANT = /-(light|medium-light|medium|medium-dark|dark)$/;
const CATEGORY_BONUS: Record<string, number> = {
  'Animals & Nature': 6,
  'Food & Drink': 6,
  'Travel & Places': 5,
  Objects: 5,
  Activities: 3,
  'People & Body': 1,
  'Smileys & Emotion': -4,
  Symbols: -6,
  Flags: -8,
};
const LINKS = new Set(['with', 'and', 'on', 'in', 'behind', 'of', 'at', 'for', 'from', 'over']);

interface Candidate {
  name: string;
  score: number;
}

export interface IconIndex {
  /** Best icon name for a word or two-word phrase, or undefined. */
  lookup(phrase: string): string | undefined;
  /**
   * Best icon known by every word of a compound ("tennis ball", "coffee cup"), or undefined; each
   * word is given as its spellings (singular, as written), any of which may match.
   */
  lookupAll(words: string[][]): string | undefined;
  icon(name: string): Icon;
  has(name: string): boolean;
  /** The words an icon is known by: its name, its emoji label and tags, our keywords for it. */
  vocabulary(name: string): ReadonlySet<string>;
  size: number;
}

let index: IconIndex | undefined;
let loading: Promise<IconIndex> | undefined;

/** Loads the icon data and builds the index on first call; later calls share the result. */
export function loadIconIndex(): Promise<IconIndex> {
  loading ??= (async () => {
    // Dynamic JSON imports: bundlers inline them, and nothing is parsed until the first request.
    const [set, chars, meta, emoji] = await Promise.all([
      import('@iconify-json/fluent-emoji-flat/icons.json', { with: { type: 'json' } }),
      import('@iconify-json/fluent-emoji-flat/chars.json', { with: { type: 'json' } }),
      import('@iconify-json/fluent-emoji-flat/metadata.json', { with: { type: 'json' } }),
      import('emojibase-data/en/compact.json', { with: { type: 'json' } }),
    ]);
    index = buildIndex(
      set.default as IconSetJson,
      chars.default as Record<string, string>,
      meta.default as { categories: Record<string, string[]> },
      emoji.default as EmojibaseEntry[],
    );
    return index;
  })();
  return loading;
}

/** The index loaded by loadIconIndex(). */
export function iconIndex(): IconIndex {
  if (!index) throw new Error('icon index not loaded: await loadIconIndex() first');
  return index;
}

function slug(text: string): string {
  return text
    .toLowerCase()
    .replace(/[’']s\b/g, 's')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
}

function buildIndex(
  set: IconSetJson,
  chars: Record<string, string>,
  meta: { categories: Record<string, string[]> },
  emoji: EmojibaseEntry[],
): IconIndex {
  const bodies = new Map<string, string>();
  for (const [name, { body }] of Object.entries(set.icons)) bodies.set(name, body);
  for (const [name, { body }] of Object.entries(CUSTOM_ICONS)) bodies.set(name, body);
  const category = new Map<string, string>();
  for (const [cat, names] of Object.entries(meta.categories)) for (const n of names) category.set(n, cat);

  const exact = new Map<string, string>();
  // What each icon is known by, split into words on first use: most prompts never need it.
  const descriptions: [string, string][] = [];
  const describe = (name: string, text: string) => descriptions.push([name, text]);
  const byWord = new Map<string, Candidate[]>();
  const add = (word: string, name: string, score: number) => {
    const list = byWord.get(word) ?? [];
    list.push({ name, score });
    byWord.set(word, list);
  };
  for (const name of bodies.keys()) {
    const variantOf = name.replace(SKIN_VARIANT, '');
    if (variantOf !== name && bodies.has(variantOf)) continue;
    exact.set(name.replace(/-/g, ' '), name);
    describe(name, name);
    const tokens = name.split('-');
    const linkAt = tokens.findIndex((t, i) => i > 0 && LINKS.has(t));
    const headAt = (linkAt > 0 ? linkAt : tokens.length) - 1;
    const bonus = CATEGORY_BONUS[category.get(name) ?? ''] ?? 0;
    tokens.forEach((t, i) => {
      if (LINKS.has(t)) return;
      add(t, name, (i === headAt ? 60 : 30) - 4 * tokens.length + bonus);
    });
    for (let i = 0; i + 1 < tokens.length; i++)
      add(`${tokens[i]} ${tokens[i + 1]}`, name, (i + 1 === headAt ? 70 : 40) - 3 * tokens.length + bonus);
  }
  const keyworded = [
    ...Object.entries(CUSTOM_ICONS).map(([name, { keywords }]): [string, string[]] => [name, keywords]),
    ...Object.entries(KEYWORDS),
  ];
  for (const [name, keywords] of keyworded)
    for (const k of keywords) {
      describe(name, k);
      exact.set(k, name);
      add(k, name, 90);
    }
  for (const e of emoji) {
    const code = e.hexcode.toLowerCase();
    const name =
      chars[code] ?? chars[`${code}-fe0f`] ?? (bodies.has(slug(e.label)) ? slug(e.label) : undefined);
    if (!name || !exact.has(name.replace(/-/g, ' '))) continue;
    const bonus = CATEGORY_BONUS[category.get(name) ?? ''] ?? 0;
    describe(name, e.label);
    for (const tag of e.tags ?? []) describe(name, tag);
    for (const tag of e.tags ?? []) add(tag.toLowerCase(), name, 20 + bonus - name.split('-').length);
  }
  for (const list of byWord.values()) list.sort((a, b) => b.score - a.score || a.name.localeCompare(b.name));

  const cache = new Map<string, Icon>();
  const usable = (name: string): boolean => icon(name).shapes.length > 0;
  const icon = (name: string): Icon => {
    let hit = cache.get(name);
    if (!hit) {
      const body = bodies.get(name);
      const shapes = (body && parseIconBody(body)) || [];
      hit = { name, shapes, box: contentBox(shapes) };
      cache.set(name, hit);
    }
    return hit;
  };
  const lookup = (phrase: string): string | undefined => {
    const key = phrase.toLowerCase().trim();
    const preferred = PREFERRED[key];
    if (preferred && bodies.has(preferred) && usable(preferred)) return preferred;
    const direct = exact.get(key);
    if (direct && usable(direct)) return direct;
    return byWord.get(key)?.find((c) => usable(c.name))?.name;
  };
  let words: { vocab: Map<string, Set<string>>; byVocab: Map<string, string[]> } | undefined;
  const vocabularies = () => {
    if (words) return words;
    const vocab = new Map<string, Set<string>>();
    for (const [name, text] of descriptions) {
      const known = vocab.get(name) ?? new Set<string>();
      for (const w of text.toLowerCase().split(/[^a-z0-9]+/)) if (w && !LINKS.has(w)) known.add(w);
      vocab.set(name, known);
    }
    const byVocab = new Map<string, string[]>();
    for (const [name, known] of vocab)
      for (const w of known) {
        const list = byVocab.get(w) ?? [];
        list.push(name);
        byVocab.set(w, list);
      }
    words = { vocab, byVocab };
    return words;
  };
  const lookupAll = (phrase: string[][]): string | undefined => {
    const { vocab, byVocab } = vocabularies();
    const known = (name: string) => {
      const v = vocab.get(name);
      return phrase.every((forms) => forms.some((f) => v?.has(f)));
    };
    const head = phrase[phrase.length - 1];
    // Rank as the head word ranks its icons, then the most specific (fewest words) first.
    const ranked = head.flatMap((f) => byWord.get(f)?.map((c) => c.name) ?? []).filter(known);
    const rest = head
      .flatMap((f) => byVocab.get(f) ?? [])
      .filter(known)
      .sort((a, b) => (vocab.get(a)?.size ?? 0) - (vocab.get(b)?.size ?? 0) || a.localeCompare(b));
    return [...ranked, ...rest].find(usable);
  };
  const none: ReadonlySet<string> = new Set();
  return {
    lookup,
    lookupAll,
    icon,
    has: (name) => bodies.has(name),
    vocabulary: (name) => vocabularies().vocab.get(name) ?? none,
    size: exact.size,
  };
}
