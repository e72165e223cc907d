// Judges whether a composed template depicts every thing its prompt names. A prompt marks each named
// thing in [brackets]; a thing is depicted when one drawn icon or one drawn scene is known by all of
// its words (icon: name, emoji label and tags, keywords; scene: the words that select it), compared
// as singular nouns. A compound ("magnifying glass") therefore needs an item known by both words.
import nlp from 'compromise';
import { iconIndex } from '#template/composer/icon-set';
import type { ComposedTemplate } from '#template/composer/index';
import { SCENES } from '#template/composer/scenes';

const IGNORED = new Set(['of', 'a', 'an', 'the']);
const singulars = new Map<string, string>();

function singular(word: string): string {
  let s = singulars.get(word);
  if (s === undefined) {
    // Tagged as a noun first: alone, compromise reads "clouds" or "stars" as verbs.
    const doc = nlp(word);
    doc.tag('Noun');
    s = (doc.nouns().toSingular().text() || word).toLowerCase();
    singulars.set(word, s);
  }
  return s;
}

/** The prompt as sent (brackets removed) and the things it names. */
export function markedPrompt(marked: string): { prompt: string; named: string[] } {
  const named = [...marked.matchAll(/\[([^\]]+)\]/g)].map((m) => m[1]);
  return { prompt: marked.replace(/[[\]]/g, ''), named };
}

function sceneVocabulary(scene: string): Set<string> {
  return new Set(SCENES[scene]?.words.flatMap((w) => w.split(' ')) ?? []);
}

export interface Judgement {
  prompt: string;
  /** Named things no drawn item is known by. */
  missing: string[];
}

export function judge(marked: string, template: ComposedTemplate): Judgement {
  const { prompt, named } = markedPrompt(marked);
  const ix = iconIndex();
  const items = [
    ...template.objects.map((o) => ix.vocabulary(o)),
    ...template.scenes.map((s) => sceneVocabulary(s)),
  ].map((words) => new Set([...words].map(singular)));
  const missing = named.filter((thing) => {
    const words = thing
      .toLowerCase()
      .split(/\s+/)
      .filter((w) => !IGNORED.has(w))
      .map(singular);
    return !items.some((vocab) => words.every((w) => vocab.has(w)));
  });
  return { prompt, missing };
}
