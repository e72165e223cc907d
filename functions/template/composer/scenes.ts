// Flat backgrounds for setting words: a sky, a ground band and a few scenery shapes, drawn first so
// the objects stack on top. groundY is where standing objects put their feet.

export interface Element {
  tag: 'rect' | 'circle' | 'ellipse' | 'path' | 'polygon';
  attrs: Record<string, string | number>;
}

export interface Backdrop {
  elements: Element[];
  /** Canvas y of the ground line, or undefined when nothing stands on a ground. */
  groundY?: number;
  skyColor: string;
}

const rect = (x: number, y: number, width: number, height: number, fill: string): Element => ({
  tag: 'rect',
  attrs: { x, y, width, height, fill },
});
const circle = (cx: number, cy: number, r: number, fill: string, opacity?: number): Element => ({
  tag: 'circle',
  attrs: opacity === undefined ? { cx, cy, r, fill } : { cx, cy, r, fill, opacity },
});
const path = (d: string, fill: string): Element => ({ tag: 'path', attrs: { d, fill } });

function hillGround(y: number, fill: string, shade: string): Element[] {
  return [
    path(`M0 ${y + 10}C120 ${y - 18} 260 ${y - 12} 512 ${y + 4}V512H0z`, fill),
    path(`M0 ${y + 46}C160 ${y + 30} 330 ${y + 34} 512 ${y + 52}V512H0z`, shade),
  ];
}

function clouds(rand: () => number, y: number, fill = '#ffffff'): Element[] {
  const out: Element[] = [];
  for (const baseX of [96, 400]) {
    const x = baseX + Math.round((rand() - 0.5) * 40);
    const cy = y + Math.round((rand() - 0.5) * 30);
    out.push(
      { tag: 'ellipse', attrs: { cx: x, cy: cy + 8, rx: 46, ry: 14, fill } },
      circle(x - 14, cy, 18, fill),
      circle(x + 12, cy - 6, 22, fill),
    );
  }
  return out;
}

function stars(rand: () => number, count: number, maxY: number): Element[] {
  return Array.from({ length: count }, () =>
    circle(
      Math.round(rand() * 492) + 10,
      Math.round(rand() * maxY) + 10,
      1.5 + Math.round(rand() * 2),
      '#fff7c2',
    ),
  );
}

/** The backdrop for the first recognised scene words; several combine (night + beach). */
export function backdrop(scenes: string[], rand: () => number): Backdrop | undefined {
  if (scenes.length === 0) return undefined;
  const night = scenes.includes('night') || scenes.includes('space');
  const place =
    scenes.find((s) => s !== 'night' && s !== 'sky') ?? (scenes.includes('sky') ? 'sky' : 'field');
  const skyColor = night
    ? '#1d2b53'
    : place === 'sunset'
      ? '#ffb36b'
      : place === 'snow'
        ? '#dcebf7'
        : place === 'rain'
          ? '#9fb1c2'
          : '#bfe3ff';
  const els: Element[] = [rect(0, 0, 512, 512, skyColor)];
  if (night) els.push(...stars(rand, 24, 260), circle(420, 86, 34, '#fff3b0'), circle(406, 78, 30, skyColor));
  else if (place === 'sunset') els.push(rect(0, 250, 512, 150, '#ff8a5c'), circle(256, 330, 70, '#ffd166'));
  else if (place === 'rain') {
    els.push(...clouds(rand, 70, '#7d8b99'));
    for (let k = 0; k < 22; k++) {
      const x = Math.round(rand() * 490) + 10;
      const y = Math.round(rand() * 300) + 110;
      els.push({
        tag: 'path',
        attrs: { d: `M${x} ${y}l-6 18`, fill: 'none', stroke: '#5d89b3', 'stroke-width': 3 },
      });
    }
  } else if (place !== 'room' && place !== 'ocean')
    els.push(circle(430, 80, 36, '#ffd93b'), ...clouds(rand, 110));

  switch (place) {
    case 'space':
      return { elements: [rect(0, 0, 512, 512, '#0b1026'), ...stars(rand, 40, 490)], skyColor: '#0b1026' };
    case 'sky':
      return { elements: els, skyColor };
    case 'beach':
      els.push(
        rect(0, 300, 512, 90, night ? '#1f4e8c' : '#3fa9f5'),
        path('M0 318c40-8 80-8 128 0s88 8 128 0s88-8 128 0s88 8 128 0v10H0z', night ? '#2f63a8' : '#7cc8f8'),
        path('M0 392C140 360 330 364 512 384V512H0z', '#f4d58d'),
        path('M0 450C170 430 350 436 512 452V512H0z', '#e9c46a'),
      );
      return { elements: els, groundY: 420, skyColor };
    case 'ocean':
      return {
        elements: [
          rect(0, 0, 512, 512, '#1e6fb8'),
          rect(0, 0, 512, 90, '#3f8fd2'),
          path('M0 470C140 440 360 450 512 468V512H0z', '#e9c46a'),
          circle(80, 200, 8, '#9fd3ff', 0.7),
          circle(96, 160, 5, '#9fd3ff', 0.7),
          circle(440, 260, 7, '#9fd3ff', 0.7),
        ],
        groundY: 478,
        skyColor: '#1e6fb8',
      };
    case 'city': {
      const tall = [
        [10, 180],
        [92, 120],
        [168, 210],
        [262, 150],
        [344, 230],
        [430, 140],
      ];
      for (const [x, top] of tall) {
        const h = top + Math.round(rand() * 30);
        els.push(rect(x, 400 - h, 74, h, night ? '#34406b' : '#9aaabf'));
        for (let wy = 400 - h + 16; wy < 380; wy += 34)
          els.push(rect(x + 14, wy, 14, 14, night ? '#ffd966' : '#d8e3ef'));
      }
      els.push(rect(0, 396, 512, 116, '#8d949c'), rect(0, 448, 512, 8, '#d4d8dc'));
      return { elements: els, groundY: 428, skyColor };
    }
    case 'forest':
      for (const [x, s] of [
        [40, 1],
        [130, 0.8],
        [380, 0.9],
        [470, 1.1],
      ]) {
        const top = 400 - 190 * s;
        els.push(rect(x - 6, 360, 12, 40, '#6d4534'), {
          tag: 'polygon',
          attrs: { points: `${x},${top} ${x - 48 * s},370 ${x + 48 * s},370`, fill: '#2e7d32' },
        });
      }
      els.push(...hillGround(392, '#5da83e', '#4a8f31'));
      return { elements: els, groundY: 430, skyColor };
    case 'desert':
      els.push(...hillGround(392, '#f2cf87', '#e3b665'));
      return { elements: els, groundY: 430, skyColor };
    case 'snow':
      els.push(...hillGround(392, '#ffffff', '#e4eef6'));
      return { elements: els, groundY: 430, skyColor };
    case 'room':
      return {
        elements: [
          rect(0, 0, 512, 512, '#f3e9dc'),
          rect(0, 380, 512, 132, '#c9a27e'),
          rect(0, 372, 512, 10, '#b08866'),
        ],
        groundY: 440,
        skyColor: '#f3e9dc',
      };
    default:
      els.push(...hillGround(392, night ? '#2f5d3a' : '#7cc36e', night ? '#264d30' : '#66ad59'));
      return { elements: els, groundY: 430, skyColor };
  }
}
