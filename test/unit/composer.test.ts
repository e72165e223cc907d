import { createRequire } from 'node:module';
import { Resvg } from '@resvg/resvg-js';
import { SaxesParser } from 'saxes';
import { beforeAll, describe, expect, it } from 'vitest';
import { sanitizeSvg } from '#commons/sanitize';
import { parseHex } from '#template/composer/color';
import { CUSTOM_ICONS } from '#template/composer/custom-icons';
import { type ComposedTemplate, composeTemplate } from '#template/composer/index';
import { SCENES } from '#template/composer/scenes';
import { contentBox, parseIconBody, renderShape } from '#template/composer/shapes';
import { judge } from '../support/depiction.ts';
import { EVERYDAY_PROMPTS } from '../support/everyday-prompts.ts';
import { EXAMPLE_PROMPTS as EXAMPLES } from '../support/prompts.ts';

const ALLOWED = new Set(['svg', 'g', 'path', 'rect', 'circle', 'ellipse', 'line', 'polyline', 'polygon']);
// biome-ignore format: packed list
const ALLOWED_ATTRS = new Set([
  'id', 'd', 'fill', 'fill-opacity', 'fill-rule', 'stroke', 'stroke-width', 'stroke-opacity', 'opacity',
  'transform', 'x', 'y', 'width', 'height', 'cx', 'cy', 'r', 'rx', 'ry', 'points', 'x1', 'y1', 'x2', 'y2',
  'viewBox', 'xmlns',
]);

function compose(prompt: string, seed = 0): Promise<ComposedTemplate> {
  return composeTemplate({ prompt, style: '', seed });
}

/** Elements of the SVG as [tag, attributes], in document order. */
function elementsOf(svg: string): [string, Record<string, string>][] {
  const out: [string, Record<string, string>][] = [];
  const parser = new SaxesParser();
  parser.on('error', (e) => {
    throw e;
  });
  parser.on('opentag', (tag) => out.push([tag.name, tag.attributes as Record<string, string>]));
  parser.write(svg).close();
  return out;
}

function shapesOf(t: ComposedTemplate, name: string) {
  const part = t.parts.find((p) => p.name === name);
  if (!part) throw new Error(`${name} not drawn; parts: ${t.parts.map((p) => p.name).join(', ')}`);
  const inner = t.svg.replace(/^<svg[^>]*>/, '').replace(/<\/svg>$/, '');
  return (parseIconBody(inner) ?? []).slice(part.first - 1, part.last);
}

/** Canvas box of one drawn object, measured from the SVG's own shapes. */
function boxOf(t: ComposedTemplate, name: string) {
  const box = contentBox(shapesOf(t, name));
  return { ...box, cx: box.x + box.w / 2, cy: box.y + box.h / 2, bottom: box.y + box.h };
}

function coverage(svg: string): number {
  const pixels = new Resvg(svg).render().pixels;
  let painted = 0;
  for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) painted++;
  return painted / (pixels.length / 4);
}

/** The 30°-wide hue bin that covers the most area among the object's colourful fills. */
function dominantHue(t: ComposedTemplate, name: string): number {
  const area = new Map<number, number>();
  for (const shape of shapesOf(t, name)) {
    const c = parseHex(shape.attrs.fill ?? '');
    if (!c || c.s < 0.3 || c.l < 0.2 || c.l > 0.85) continue;
    const bin = Math.round(c.h / 30) % 12;
    area.set(bin, (area.get(bin) ?? 0) + shape.area);
  }
  const [bin] = [...area.entries()].sort((a, b) => b[1] - a[1])[0];
  return bin * 30;
}

describe('icon flattening', () => {
  const icons = createRequire(import.meta.url)('@iconify-json/fluent-emoji-flat/icons.json') as {
    icons: Record<string, { body: string }>;
  };
  const render = (svg: string) => new Resvg(svg, { fitTo: { mode: 'width', value: 128 } }).render().pixels;
  const sample = Object.keys(icons.icons).filter((_, i) => i % 60 === 0);

  it.each(sample)('draws %s exactly as the original after flattening and baking the placement', (name) => {
    const body = icons.icons[name].body;
    const shapes = parseIconBody(body);
    if (!shapes) return; // refused icons (clip paths, filters) are never drawn

    const original = render(
      `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 512 512"><g transform="translate(40 24) scale(14)">${body}</g></svg>`,
    );
    const flat = render(
      `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 512 512">${shapes.map((s, i) => renderShape(s, `path_${i + 1}`, 14, 40, 24)).join('')}</svg>`,
    );

    let diff = 0;
    for (let i = 0; i < original.length; i++) diff += Math.abs(original[i] - flat[i]);
    expect(diff / original.length).toBeLessThan(1);
  });

  it('refuses icons that need clip paths rather than drawing them wrong', () => {
    expect(parseIconBody(icons.icons.paperclip.body)).toBeNull();
  });
});

describe('composeTemplate', () => {
  it('puts an apple with leaves and a stem in the apple prompt', async () => {
    const t = await compose(EXAMPLES[0]);

    expect(t.objects.some((o) => /apple/.test(o))).toBe(true);
    expect(t.objects).toContain('leaf');
    expect(t.objects).toContain('stem');
    const apple = boxOf(t, 'red-apple');
    expect(boxOf(t, 'leaf').cy).toBeLessThan(apple.cy);
  });

  it("draws a dog wearing a chef's hat with the hat above the dog's center", async () => {
    const t = await compose(EXAMPLES[1]);

    expect(t.objects[0]).toMatch(/dog/);
    expect(t.objects).toContain('chef-hat');
    expect(t.relations).toEqual(['dog wearing chef hat']);
    const dog = boxOf(t, t.objects[0]);
    const hat = boxOf(t, 'chef-hat');
    expect(hat.cy).toBeLessThan(dog.cy);
    expect(hat.bottom).toBeLessThan(dog.cy);
    expect(Math.abs(hat.cx - dog.cx)).toBeLessThan(dog.w / 4);
  });

  it('draws the worn hat after the dog so it stacks on top', async () => {
    const t = await compose(EXAMPLES[1]);

    const names = t.parts.map((p) => p.name);
    expect(names.indexOf('chef-hat')).toBeGreaterThan(names.indexOf(t.objects[0]));
  });

  it('seats the cat on the sofa: above its middle, drawn after it', async () => {
    const t = await compose(EXAMPLES[2]);

    expect(t.objects).toEqual(['sofa', 'cat']);
    const sofa = boxOf(t, 'sofa');
    const cat = boxOf(t, 'cat');
    expect(cat.cy).toBeLessThan(sofa.cy);
    expect(cat.bottom).toBeGreaterThan(sofa.y);
    expect(cat.bottom).toBeLessThan(sofa.bottom);
  });

  it('stands the car and the house side by side', async () => {
    const t = await compose(EXAMPLES[3]);

    expect(t.objects).toEqual(['automobile', 'house']);
    const car = boxOf(t, 'automobile');
    const house = boxOf(t, 'house');
    expect(car.x + car.w).toBeLessThanOrEqual(house.x + 1);
  });

  it('puts the bird high above the tree under a sky with ground', async () => {
    const t = await compose(EXAMPLES[4]);

    expect(t.objects).toEqual(['deciduous-tree', 'bird']);
    expect(t.parts[0].name).toBe('background');
    const tree = boxOf(t, 'deciduous-tree');
    const bird = boxOf(t, 'bird');
    expect(bird.bottom).toBeLessThanOrEqual(tree.y + 2);
    expect(bird.w).toBeLessThan(tree.w);
  });

  it.each([
    ['a pizza', 'pizza'],
    ['a rocket', 'rocket'],
    ['a sunflower', 'sunflower'],
  ])('draws %s as the %s icon filling most of the canvas', async (prompt, icon) => {
    const t = await compose(prompt);

    expect(t.objects).toEqual([icon]);
    const box = boxOf(t, icon);
    expect(Math.max(box.w, box.h)).toBeGreaterThan(380);
  });

  it('lays a hammer and a wrench out next to each other', async () => {
    const t = await compose(EXAMPLES[8]);

    expect(t.objects).toEqual(['hammer', 'wrench']);
    expect(boxOf(t, 'hammer').cx).toBeLessThan(boxOf(t, 'wrench').cx);
  });

  it('gives the beach a background of sky, sea and sand behind the palm tree', async () => {
    const t = await compose(EXAMPLES[9]);

    expect(t.objects).toEqual(['palm-tree']);
    expect(t.parts.map((p) => p.name)).toEqual(['background', 'palm-tree']);
    const [, first] = elementsOf(t.svg)[1];
    expect(first).toMatchObject({ id: 'path_1', width: '512', height: '512' });
    expect(t.svg).toContain('#f4d58d');
  });

  it('recolors the named object to the named colour and keeps its other colours', async () => {
    const blue = await compose('a blue apple');
    const plain = await compose('an apple');

    expect(dominantHue(plain, 'red-apple')).toBe(0);
    expect(dominantHue(blue, 'red-apple')).toBeGreaterThanOrEqual(180);
    expect(dominantHue(blue, 'red-apple')).toBeLessThanOrEqual(240);
    // The leaf stays green: only the dominant colour family moves.
    expect(blue.svg).toContain('#00d26a');
  });

  it('recolors a grey object when asked for a colour', async () => {
    const t = await compose('a purple elephant');

    expect(dominantHue(t, 'elephant')).toBeGreaterThanOrEqual(240);
    expect(dominantHue(t, 'elephant')).toBeLessThanOrEqual(300);
  });

  it('prefers an icon that already has the colour over recolouring', async () => {
    expect((await compose('a green apple')).objects).toEqual(['green-apple']);
  });

  it('never draws an empty picture for words it does not know', async () => {
    const t = await compose('a zorblax quibbling');

    expect(t.objects.length).toBe(1);
    expect(t.elements).toBeGreaterThan(0);
    expect(coverage(t.svg)).toBeGreaterThan(0.2);
  });

  it('draws the typical object of a scene named alone', async () => {
    const t = await compose('a desert');

    expect(t.objects).toEqual(['cactus']);
    expect(t.parts[0].name).toBe('background');
  });

  it('leaves the background out for icon-like styles', async () => {
    const t = await composeTemplate({ prompt: 'a beach with a palm tree', style: 'flat icon', seed: 0 });

    expect(t.parts.map((p) => p.name)).toEqual(['palm-tree']);
  });

  it('is deterministic for the same prompt, style and seed', async () => {
    const a = await composeTemplate({ prompt: 'a cat sitting on a sofa', style: 'flat', seed: 7 });
    const b = await composeTemplate({ prompt: 'a cat sitting on a sofa', style: 'flat', seed: 7 });

    expect(a).toEqual(b);
  });

  it('reads a comma list as separate objects', async () => {
    const t = await compose('a cat, a dog , a bird');

    expect(t.objects).toEqual(['cat', 'dog', 'bird']);
  });

  it('draws two objects for "two cats"', async () => {
    expect((await compose('two cats')).parts.map((p) => p.name)).toEqual(['cat', 'cat']);
  });

  describe('compounds before their head word', () => {
    it.each([
      ['a magnifying glass', 'magnifying-glass-tilted-left', 'wine-glass'],
      ['a watermelon slice', 'watermelon', 'pie'],
      ['a tennis ball', 'tennis', 'soccer-ball'],
      ['an ice cream cone', 'soft-ice-cream', 'ice-cream'],
    ])('draws %s as %s, not %s', async (prompt, icon, wrong) => {
      const t = await compose(prompt);

      expect(t.objects).toEqual([icon]);
      expect(t.objects).not.toContain(wrong);
    });

    it('draws a mug of tea as one steaming mug, the tea inside it', async () => {
      expect((await compose('a mug of tea')).objects).toEqual(['hot-beverage']);
    });

    it('puts the apples of "a basket of apples" inside the basket', async () => {
      const t = await compose('a basket of apples');

      // Drawn first, so the basket's front hides its lower part.
      expect(t.objects).toEqual(['red-apple', 'basket']);
      expect(t.relations).toEqual(['apples inside basket']);
      const basket = boxOf(t, 'basket');
      const apple = boxOf(t, 'red-apple');
      expect(apple.cx).toBeGreaterThan(basket.x);
      expect(apple.cx).toBeLessThan(basket.x + basket.w);
      expect(apple.cy).toBeGreaterThan(basket.y);
      expect(apple.cy).toBeLessThan(basket.bottom);
    });

    it.each([
      ['the top of a mountain', ['snow-capped-mountain']],
      ['a flock of birds', ['bird', 'bird', 'bird']],
    ])('draws "%s" as the thing after "of", not the part or group word', async (prompt, parts) => {
      expect((await compose(prompt)).parts.map((p) => p.name)).toEqual(parts);
    });

    it('keeps a plural compromise reads as a verb: "a hamburger and fries"', async () => {
      expect((await compose('a hamburger and fries')).objects).toEqual(['hamburger', 'french-fries']);
    });

    it('draws the object a padlock is, not nothing', async () => {
      expect((await compose('a bicycle locked with a padlock')).objects).toEqual(['bicycle', 'locked']);
    });
  });

  describe('places and backgrounds', () => {
    it.each([
      ['a fox under a starry sky', ['night']],
      ['a camel in the desert in the rain', ['desert', 'rain']],
      ['a frog in a pond', ['pond']],
      ['a house in the mountains by a lake at night', ['night', 'mountains', 'lake']],
      ['a piano in a living room', ['living room']],
      ['a drum on a stage', ['stage']],
      ['a sheep on a hill', ['hill']],
      ['a shark under the sea', ['ocean']],
      ['a sailboat on the ocean at sunset', ['sunset', 'open sea']],
      ['a jar of cookies on the kitchen counter', ['kitchen']],
    ])('draws "%s" over the %j background', async (prompt, scenes) => {
      const t = await compose(prompt);

      expect(t.scenes).toEqual(scenes);
      expect(t.parts[0].name).toBe('background');
      expect(t.objects.length).toBeGreaterThanOrEqual(1);
    });

    it('draws the rain as drops over a grey sky, not just the desert', async () => {
      const dry = await compose('a camel in the desert');
      const wet = await compose('a camel in the desert in the rain');

      expect(dry.svg).not.toContain('stroke="#5d89b3"');
      expect(wet.svg).toContain('stroke="#5d89b3"');
      expect(wet.svg).toContain('#f2cf87');
    });

    it.each(Object.keys(SCENES))(
      'reaches the %s scene by its first word and draws it cleanly',
      async (scene) => {
        const t = await compose(`a dog in the ${SCENES[scene].words[0]}`);

        expect(t.scenes).toContain(scene);
        expect(sanitizeSvg(t.svg).removed).toEqual([]);
      },
    );

    it('leaves out a second ground it cannot draw, and says so', async () => {
      const t = await compose('a dog in the desert in the forest');

      expect(t.scenes).toEqual(['desert']);
    });
  });

  describe('custom icons', () => {
    it.each(Object.keys(CUSTOM_ICONS))(
      'draws the custom %s icon for its first keyword, cleanly',
      async (name) => {
        const t = await compose(`a ${CUSTOM_ICONS[name].keywords[0]}`);

        expect(t.objects).toEqual([name]);
        expect(sanitizeSvg(t.svg).removed).toEqual([]);
        expect(t.elements).toBeGreaterThan(0);
      },
    );
  });

  describe('depiction of the everyday prompt set', () => {
    it('judges a wrong sense of a compound as not depicted', async () => {
      const t = await compose('a magnifying glass');
      const wrong = { ...t, objects: ['wine-glass'] };

      expect(judge('a [magnifying glass]', t).missing).toEqual([]);
      expect(judge('a [magnifying glass]', wrong).missing).toEqual(['magnifying glass']);
    });

    it('depicts every named thing in at least 95% of its prompts', async () => {
      const missed: string[] = [];
      for (const marked of EVERYDAY_PROMPTS) {
        const prompt = marked.replace(/[[\]]/g, '');
        const { missing } = judge(marked, await compose(prompt));
        if (missing.length) missed.push(`${prompt}: ${missing.join(', ')}`);
      }

      expect(EVERYDAY_PROMPTS.length).toBeGreaterThanOrEqual(100);
      expect(missed.length / EVERYDAY_PROMPTS.length, missed.join('\n')).toBeLessThanOrEqual(0.05);
    });
  });

  describe.each(EXAMPLES)('output for "%s"', (prompt) => {
    let t: ComposedTemplate;
    beforeAll(async () => {
      t = await compose(prompt);
    });

    it('is well-formed XML with a 512×512 viewBox', () => {
      const elements = elementsOf(t.svg);

      expect(elements[0]).toEqual(['svg', expect.objectContaining({ viewBox: '0 0 512 512' })]);
    });

    it('gives every shape a unique id path_N numbered from 1 in drawing order', () => {
      const shapes = elementsOf(t.svg).filter(([tag]) => tag !== 'svg' && tag !== 'g');

      expect(shapes.map(([, a]) => a.id)).toEqual(shapes.map((_, i) => `path_${i + 1}`));
      expect(t.elements).toBe(shapes.length);
    });

    it('uses only elements and attributes a strict sanitizer keeps', () => {
      for (const [tag, attrs] of elementsOf(t.svg)) {
        expect(ALLOWED.has(tag), tag).toBe(true);
        for (const name of Object.keys(attrs)) expect(ALLOWED_ATTRS.has(name), `${tag}@${name}`).toBe(true);
      }
      expect(sanitizeSvg(t.svg).removed).toEqual([]);
    });

    it('renders with resvg to a picture that covers a good part of the canvas', () => {
      // Thin tools cover least: a hammer and a wrench paint about 9 % of the canvas.
      expect(coverage(t.svg)).toBeGreaterThan(0.05);
    });
  });
});
