// Prompt → noun phrases (head noun singularized, colour adjective, count), spatial relations
// between them and scene words. compromise tags the words; relations are matched as phrases
// because its chunker folds prepositional phrases into noun phrases.
import nlp from 'compromise';
import { COLOR_WORDS } from './color.ts';
import { sceneFor } from './scenes.ts';

export type RelationKind =
  | 'wearing'
  | 'holding'
  | 'with'
  | 'on'
  | 'under'
  | 'above'
  | 'below'
  | 'next to'
  | 'in front of'
  | 'behind'
  | 'inside'
  | 'in the sky';

export interface Phrase {
  /** Content words in order (colour and count removed); plurals singularized. */
  words: string[];
  /** The same words as written, for plural-only names (glasses, fries). */
  written: string[];
  color?: string;
  count: number;
  /** Set when the phrase names a setting rather than an object. */
  scene?: string;
  /** Settings its modifiers name ("a rainy city", "a snowy forest"). */
  moreScenes?: string[];
}

export interface Relation {
  subject: number;
  kind: RelationKind;
  /** Index of the other phrase; absent for 'in the sky'. */
  object?: number;
}

export interface ParseOptions {
  /** Whether some icon is known by all these words ("magnifying glass"): keeps a compound whole. */
  knows?: (words: string[]) => boolean;
}

export interface ParsedPrompt {
  phrases: Phrase[];
  relations: Relation[];
  scenes: string[];
}

// Longest phrases first so "in front of" wins over "in".
const RELATION_PHRASES: [string[], RelationKind | 'and'][] = (
  [
    ['in front of', 'in front of'],
    ['on top of', 'on'],
    ['next to', 'next to'],
    ['close to', 'next to'],
    ['in back of', 'behind'],
    ['inside of', 'inside'],
    ['dressed in', 'wearing'],
    ['wearing', 'wearing'],
    ['wears', 'wearing'],
    ['wear', 'wearing'],
    ['holding', 'holding'],
    ['holds', 'holding'],
    ['hold', 'holding'],
    ['carrying', 'holding'],
    ['carries', 'holding'],
    ['grabbing', 'holding'],
    ['eating', 'holding'],
    ['flying', 'holding'],
    ['riding', 'on'],
    ['rides', 'on'],
    ['with', 'with'],
    ['has', 'with'],
    ['having', 'with'],
    ['on', 'on'],
    ['onto', 'on'],
    ['upon', 'on'],
    ['atop', 'on'],
    ['under', 'under'],
    ['underneath', 'under'],
    ['beneath', 'under'],
    ['above', 'above'],
    ['over', 'above'],
    ['below', 'below'],
    ['beside', 'next to'],
    ['besides', 'next to'],
    ['near', 'next to'],
    ['by', 'next to'],
    ['alongside', 'next to'],
    ['against', 'next to'],
    ['behind', 'behind'],
    ['inside', 'inside'],
    ['within', 'inside'],
    ['into', 'inside'],
    ['in', 'inside'],
    ['at', 'inside'],
    ['and', 'and'],
    ['plus', 'and'],
  ] as [string, RelationKind | 'and'][]
)
  .map(([p, k]): [string[], RelationKind | 'and'] => [p.split(' '), k])
  .sort((a, b) => b[0].length - a[0].length);

const SKIPPED = new Set([
  'a',
  'an',
  'the',
  'some',
  'its',
  'my',
  'your',
  'our',
  'his',
  'her',
  'their',
  'very',
  'cute',
  'little',
  'big',
]);
const NUMBERS: Record<string, number> = {
  one: 1,
  two: 2,
  three: 3,
  four: 4,
  couple: 2,
  // A pair is one thing drawn (glasses, socks, shoes).
  pair: 1,
  several: 3,
  many: 3,
};
// Heads that name an amount or a part of the thing after "of" ("a slice of pizza", "the top of a
// hill"), not a thing of their own; collectives ("a flock of birds") draw several.
export const PORTIONS = new Set([
  ...['slice', 'piece', 'bit', 'chunk', 'wedge', 'scoop', 'handful', 'pile', 'heap', 'stack'],
  ...['top', 'bottom', 'side', 'edge', 'middle', 'corner', 'tip', 'end', 'half'],
]);
const COLLECTIVES = new Set([
  'flock',
  'herd',
  'group',
  'crowd',
  'pack',
  'swarm',
  'school',
  'family',
  'row',
  'set',
]);
// Words after which a word compromise tags as a verb ("and fries") starts a noun.
const NOUN_OPENERS = new Set(['a', 'an', 'the', 'some', 'and', 'of', 'plus', 'with']);
// -ing words compromise may tag as nouns that are really activities.
const NOUN_ING = new Set([
  'building',
  'ring',
  'king',
  'wing',
  'string',
  'painting',
  'swing',
  'ceiling',
  'pudding',
  'earring',
]);

interface Token {
  word: string;
  singular: string;
  tags: Set<string>;
  /** A comma, semicolon or colon follows: the phrase ends and a list goes on. */
  listBreak?: boolean;
}

// Plurals compromise lemmatizes as verbs.
const SINGULAR: Record<string, string> = {
  leaves: 'leaf',
  loaves: 'loaf',
  scarves: 'scarf',
  shelves: 'shelf',
};

function tokenize(prompt: string): Token[] {
  const doc = nlp(prompt);
  // One lemmatizing pass: `root` is the singular of a plural noun.
  doc.compute('root');
  // After compute('root') every term's JSON carries its lemma as `root`.
  const json = doc.json({ terms: { normal: true, tags: true } }) as {
    terms: { text?: string; normal: string; tags: string[]; root?: string; post?: string }[];
  }[];
  const tokens: Token[] = [];
  for (const sentence of json)
    for (const t of sentence.terms) {
      const word = t.normal
        .replace(/[’']s?$/, '')
        .replace(/[^a-z0-9-]/g, '')
        .replace(/^-+|-+$/g, '');
      if (!word) {
        // A detached comma (" , ") is its own term: it still ends the phrase before it.
        const last = tokens[tokens.length - 1];
        if (last && /[,;:]/.test(t.text ?? t.normal)) last.listBreak = true;
        continue;
      }
      const tags = new Set(t.tags);
      const singular = tags.has('Plural') ? (SINGULAR[word] ?? (t.root || word)) : word;
      tokens.push({ word, singular, tags, listBreak: /[,;:]/.test(t.post ?? '') });
    }
  return tokens;
}

function matchRelation(tokens: Token[], at: number): [number, RelationKind | 'and'] | undefined {
  // "in the sky" / "up in the air": a place, not a relation to another object.
  const words = tokens.slice(at, at + 4).map((t) => t.word);
  const skyAt = words[0] === 'up' ? 1 : 0;
  if (words[skyAt] === 'in' || words[skyAt] === 'through' || words[skyAt] === 'across') {
    const next = words[skyAt + 1] === 'the' ? skyAt + 2 : skyAt + 1;
    if (words[next] === 'sky' || words[next] === 'air') return [next + 1, 'in the sky'];
  }
  for (const [phrase, kind] of RELATION_PHRASES)
    if (phrase.every((w, i) => tokens[at + i]?.word === w)) return [phrase.length, kind];
  return undefined;
}

function isNounish(t: Token): boolean {
  if (
    t.tags.has('Determiner') ||
    t.tags.has('Preposition') ||
    t.tags.has('Conjunction') ||
    t.tags.has('Pronoun')
  )
    return false;
  if (t.tags.has('Adverb') && !COLOR_WORDS[t.word]) return false;
  if (t.word.endsWith('ing') && !NOUN_ING.has(t.word)) return false;
  if (t.tags.has('Verb') && !t.tags.has('Noun')) return false;
  return true;
}

export function parsePrompt(prompt: string, options: ParseOptions = {}): ParsedPrompt {
  const tokens = tokenize(prompt);
  const knows = (words: string[]) => sceneFor(words) !== undefined || (options.knows?.(words) ?? false);
  const items: Item[] = [];
  let current: Token[] = [];
  const flush = () => {
    if (current.length) items.push(...splitOf(current, knows));
    current = [];
  };
  for (let i = 0; i < tokens.length; ) {
    const rel = matchRelation(tokens, i);
    if (rel) {
      flush();
      items.push({ relation: rel[1] });
      i += rel[0];
      continue;
    }
    const t = tokens[i++];
    const next = tokens[i];
    if (t.word === 'of' && current.length) current.push(t);
    else if (!SKIPPED.has(t.word) && t.word !== 'of') {
      // "a magnifying glass", "the living room": an -ing word that opens a known compound.
      const opensCompound =
        t.word.endsWith('ing') && next !== undefined && isNounish(next) && knows([t.word, next.singular]);
      // "a hamburger and fries": compromise reads some plurals as verbs.
      const verbAsNoun =
        t.tags.has('Verb') &&
        !t.word.endsWith('ing') &&
        NOUN_OPENERS.has(tokens[i - 2]?.word ?? '') &&
        (next === undefined || next.listBreak || matchRelation(tokens, i) !== undefined);
      if (isNounish(t) || opensCompound || verbAsNoun) current.push(t);
      else flush();
    }
    if (t.listBreak) {
      flush();
      if (!matchRelation(tokens, i)) items.push({ relation: 'and' });
    }
  }
  flush();

  const phrases: Phrase[] = [];
  const relations: Relation[] = [];
  const scenes = new Set<string>();
  let lastPhrase: number | undefined;
  let pending: RelationKind | 'and' | 'of' | undefined;
  let lastRelation: Relation | undefined;
  for (const item of items) {
    if ('relation' in item) {
      if (item.relation === 'in the sky') {
        scenes.add('sky');
        if (lastPhrase !== undefined) relations.push({ subject: lastPhrase, kind: 'in the sky' });
      } else pending = item.relation;
      continue;
    }
    const { phrase } = item;
    if (phrase.scene) {
      // "under the sea" is underwater; "on (or over) the ocean" is its surface.
      const scene =
        phrase.scene === 'beach' && pending === 'under'
          ? 'ocean'
          : phrase.scene === 'ocean' &&
              (pending === 'on' || pending === 'above') &&
              phrase.words.includes('ocean')
            ? 'open sea'
            : phrase.scene;
      scenes.add(scene);
      for (const more of phrase.moreScenes ?? []) scenes.add(more);
      pending = undefined;
      continue;
    }
    const index = phrases.push(phrase) - 1;
    if (pending && lastPhrase !== undefined) {
      let relation: Relation;
      // "a basket of apples": the apples are inside the basket.
      if (pending === 'of') relation = { subject: index, kind: 'inside', object: lastPhrase };
      else if (pending === 'and')
        relation =
          lastRelation && lastRelation.object === lastPhrase && lastRelation.kind !== 'next to'
            ? { subject: lastRelation.subject, kind: lastRelation.kind, object: index }
            : { subject: lastPhrase, kind: 'next to', object: index };
      else relation = { subject: lastPhrase, kind: pending, object: index };
      relations.push(relation);
      lastRelation = relation;
    }
    pending = undefined;
    lastPhrase = index;
  }
  return { phrases, relations, scenes: [...scenes] };
}

/**
 * A phrase with "of" in it: one thing when the words name it together ("a glass of milk", "a cup of
 * coffee") or the first part is an amount ("a slice of pizza", "a pair of socks"), else two things,
 * the second inside the first ("a basket of apples").
 */
function splitOf(tokens: Token[], knows: (words: string[]) => boolean): Item[] {
  const at = tokens.findIndex((t) => t.word === 'of');
  const trimmed = tokens.filter((t, k) => k < at || (k > at && t.word !== 'of'));
  if (at < 0) return [{ phrase: toPhrase(tokens) }];
  const left = tokens.slice(0, at);
  const right = tokens.slice(at + 1).filter((t) => t.word !== 'of');
  if (right.length === 0) return [{ phrase: toPhrase(left) }];
  const leftPhrase = toPhrase(left);
  const head = leftPhrase.words[leftPhrase.words.length - 1];
  const amountOnly = !head || leftPhrase.words.every((w) => NUMBERS[w] !== undefined);
  if (amountOnly) return [{ phrase: toPhrase(trimmed) }];
  if (PORTIONS.has(head)) return [{ phrase: { ...toPhrase(right), count: leftPhrase.count } }];
  if (COLLECTIVES.has(head)) return [{ phrase: { ...toPhrase(right), count: 3 } }];
  const words = trimmed.map((t) => t.singular);
  // Both spellings: compromise singularizes "ramen" to "raman".
  const whole = [right.map((t) => t.singular), right.map((t) => t.word)];
  if (whole.some((r) => knows([...leftPhrase.words, ...r])) || knows(words))
    return [{ phrase: toPhrase(trimmed) }];
  return [{ phrase: leftPhrase }, { relation: 'of' }, { phrase: toPhrase(right) }];
}

type Item = { phrase: Phrase } | { relation: RelationKind | 'and' | 'of' };

function toPhrase(tokens: Token[]): Phrase {
  let color: string | undefined;
  let count = 1;
  const content: Token[] = [];
  for (const t of tokens) {
    if (NUMBERS[t.word] !== undefined || /^\d+$/.test(t.word)) count = NUMBERS[t.word] ?? Number(t.word);
    else if (COLOR_WORDS[t.word] && !t.tags.has('Noun')) color = t.word;
    else content.push(t);
  }
  // "an orange" / "a gold": a colour word with nothing after it is the object itself.
  if (content.length === 0 && color) {
    content.push({ word: color, singular: color, tags: new Set(['Noun']) });
    color = undefined;
  }
  const words = content.map((t) => t.singular);
  const head = words[words.length - 1];
  const phrase: Phrase = { words, written: content.map((t) => t.word), color, count: Math.min(count, 4) };
  if (head && content.length <= 3) phrase.scene = sceneFor(words, phrase.written);
  if (phrase.scene) {
    const more = words.slice(0, -1).flatMap((w) => sceneFor([w]) ?? []);
    if (more.length) phrase.moreScenes = more.filter((m) => m !== phrase.scene);
  }
  return phrase;
}
