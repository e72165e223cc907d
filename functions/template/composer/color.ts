// Colour words and hue-shift recolouring: an object's dominant hue family moves to the named colour
// while each shade keeps its lightness offset, so highlights and shadows survive.
import type { Shape } from './shapes.ts';

export const COLOR_WORDS: Record<string, string> = {
  red: '#e53935',
  crimson: '#c62828',
  scarlet: '#e8341c',
  maroon: '#8e2430',
  orange: '#fb8c00',
  amber: '#ffb300',
  yellow: '#fdd835',
  gold: '#f4b400',
  golden: '#f4b400',
  green: '#43a047',
  lime: '#9ccc3c',
  olive: '#7d8a2e',
  mint: '#7fd6b0',
  teal: '#00897b',
  turquoise: '#26c6da',
  cyan: '#00bcd4',
  blue: '#1e88e5',
  navy: '#1a3a7a',
  indigo: '#3949ab',
  purple: '#8e24aa',
  violet: '#7e57c2',
  lavender: '#b39ddb',
  magenta: '#d81b60',
  pink: '#f48fb1',
  brown: '#8d5b3a',
  beige: '#e8d8b8',
  tan: '#d2b48c',
  white: '#f7f7f7',
  black: '#2b2b2b',
  gray: '#9e9e9e',
  grey: '#9e9e9e',
  silver: '#c0c6cc',
};

export interface Hsl {
  h: number;
  s: number;
  l: number;
}

export function parseHex(value: string): Hsl | null {
  const m = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(value.trim());
  if (!m) return null;
  const hex = m[1].length === 3 ? [...m[1]].map((c) => c + c).join('') : m[1];
  const [r, g, b] = [0, 2, 4].map((i) => Number.parseInt(hex.slice(i, i + 2), 16) / 255);
  const max = Math.max(r, g, b);
  const min = Math.min(r, g, b);
  const l = (max + min) / 2;
  const d = max - min;
  if (d === 0) return { h: 0, s: 0, l };
  const s = d / (1 - Math.abs(2 * l - 1));
  let h = max === r ? ((g - b) / d) % 6 : max === g ? (b - r) / d + 2 : (r - g) / d + 4;
  h *= 60;
  return { h: h < 0 ? h + 360 : h, s, l };
}

export function toHex({ h, s, l }: Hsl): string {
  const c = (1 - Math.abs(2 * l - 1)) * s;
  const x = c * (1 - Math.abs(((h / 60) % 2) - 1));
  const m = l - c / 2;
  const [r, g, b] =
    h < 60
      ? [c, x, 0]
      : h < 120
        ? [x, c, 0]
        : h < 180
          ? [0, c, x]
          : h < 240
            ? [0, x, c]
            : h < 300
              ? [x, 0, c]
              : [c, 0, x];
  return `#${[r, g, b]
    .map((v) =>
      Math.round(Math.min(1, Math.max(0, v + m)) * 255)
        .toString(16)
        .padStart(2, '0'),
    )
    .join('')}`;
}

const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));
const hueDistance = (a: number, b: number) => Math.min(Math.abs(a - b), 360 - Math.abs(a - b));
const chromatic = (c: Hsl) => c.s > 0.18 && c.l > 0.12 && c.l < 0.93;

/**
 * New fills (index-aligned with shapes; undefined = unchanged) that move the object's dominant
 * colour family to `target`. The family is the largest painted area of similar hue (or of greys
 * when the icon has no colour), weighed by shape area.
 */
export function recolor(shapes: Shape[], target: string): (string | undefined)[] {
  const goal = parseHex(target);
  if (!goal) return shapes.map(() => undefined);
  const fills = shapes.map((s) => parseHex(s.attrs.fill ?? ''));
  // Families: hue bins for colours, lightness bins for greys; near-black details (eyes, outlines,
  // tyres) never lead unless there is nothing else.
  const familyOf = (c: Hsl) => (chromatic(c) ? `h${Math.round(c.h / 30) % 12}` : `g${Math.round(c.l * 6)}`);
  const weight = new Map<string, number>();
  const lightEnough = fills.some((c) => c && c.l >= 0.15);
  fills.forEach((c, i) => {
    if (!c || (lightEnough && c.l < 0.15)) return;
    const key = familyOf(c);
    weight.set(key, (weight.get(key) ?? 0) + shapes[i].area + 0.01);
  });
  if (weight.size === 0) return shapes.map(() => undefined);
  const family = [...weight.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0][0];
  const isHue = family.startsWith('h');
  const bin = Number(family.slice(1));
  const inFamily = (c: Hsl | null): c is Hsl =>
    !!c &&
    (isHue
      ? chromatic(c) && hueDistance(c.h, bin * 30) <= 35
      : !chromatic(c) && Math.abs(c.l * 6 - bin) <= 1.5 && (!lightEnough || c.l >= 0.15));
  // The area-weighted lightness of the family anchors the shift: that shade becomes exactly the target.
  let sumL = 0;
  let sumS = 0;
  let sumW = 0;
  fills.forEach((c, i) => {
    if (!inFamily(c)) return;
    const w = shapes[i].area + 0.01;
    sumL += c.l * w;
    sumS += c.s * w;
    sumW += w;
  });
  const baseL = sumL / sumW;
  const baseS = sumS / sumW || 1;
  // Greys carry no saturation to scale, so a grey family takes the target's outright.
  const goalGrey = goal.s < 0.1;
  return fills.map((c) => {
    if (!inFamily(c)) return undefined;
    const l = clamp(goal.l + (c.l - baseL) * (goalGrey ? 0.8 : 1), 0.04, 0.97);
    const s = goalGrey || !isHue ? goal.s : clamp(goal.s * (c.s / baseS), 0, 1);
    return toHex({ h: goal.h, s, l });
  });
}
