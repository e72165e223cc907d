// Flat backgrounds for the places a prompt names: a sky, scenery far off, the ground, features on it
// (water, a road) and weather, drawn first so the objects stack on top. Several places combine
// ("a house in the mountains by a lake at night"); groundY is where standing objects put their feet.

export interface Element {
  tag: 'rect' | 'circle' | 'ellipse' | 'path' | 'polygon';
  attrs: Record<string, string | number>;
}

export interface Backdrop {
  elements: Element[];
  /** Canvas y of the ground line, or undefined when nothing stands on a ground. */
  groundY?: number;
  skyColor: string;
  /** The named scenes this backdrop draws, in the order given; a place that cannot join is left out. */
  scenes: string[];
}

/**
 * How a scene joins others: one sky, any far scenery, one ground ('land'), features on that ground,
 * weather over all; an indoor room or a whole-canvas world (space, underwater) stands alone.
 */
type SceneKind = 'sky' | 'far' | 'land' | 'feature' | 'weather' | 'indoor' | 'whole';

/** Each scene with the words (as written or singular) that name it; the one source for both. */
export const SCENES: Record<string, { kind: SceneKind; words: string[] }> = {
  sky: { kind: 'sky', words: ['sky', 'air', 'blue sky', 'daytime', 'sunny day', 'sunny'] },
  night: {
    kind: 'sky',
    words: [
      'night',
      'midnight',
      'evening',
      'nighttime',
      'stars',
      'starry',
      'starry sky',
      'starry night',
      'night sky',
      'moonlight',
    ],
  },
  sunset: { kind: 'sky', words: ['sunset', 'sunrise', 'dusk', 'dawn', 'twilight'] },
  mountains: { kind: 'far', words: ['mountains', 'mountain range', 'alps', 'peaks'] },
  valley: { kind: 'far', words: ['valley'] },
  field: {
    kind: 'land',
    words: ['field', 'meadow', 'grass', 'lawn', 'countryside', 'prairie', 'grassland', 'outdoors'],
  },
  park: { kind: 'land', words: ['park', 'playground'] },
  garden: { kind: 'land', words: ['garden', 'yard', 'backyard', 'flower bed'] },
  farm: { kind: 'land', words: ['farm', 'farmyard', 'barnyard', 'ranch', 'barn'] },
  village: { kind: 'land', words: ['village', 'hamlet'] },
  mud: { kind: 'land', words: ['mud', 'muddy', 'puddle of mud', 'swamp', 'marsh'] },
  hill: { kind: 'land', words: ['hill', 'hills', 'hillside', 'hilltop'] },
  forest: { kind: 'land', words: ['forest', 'woods', 'wood', 'woodland'] },
  jungle: { kind: 'land', words: ['jungle', 'rainforest', 'rain forest'] },
  desert: { kind: 'land', words: ['desert', 'dunes', 'sand dunes'] },
  beach: { kind: 'land', words: ['beach', 'seaside', 'shore', 'coast', 'sea', 'sand', 'seashore'] },
  island: { kind: 'land', words: ['island'] },
  snow: { kind: 'land', words: ['snow', 'winter', 'snowfield', 'snowy'] },
  ice: { kind: 'land', words: ['ice', 'arctic', 'iceberg', 'glacier', 'north pole', 'ice floe'] },
  city: { kind: 'land', words: ['city', 'town', 'downtown', 'street', 'skyline', 'streets'] },
  pond: { kind: 'feature', words: ['pond', 'puddle'] },
  lake: { kind: 'feature', words: ['lake', 'lakeside'] },
  river: { kind: 'feature', words: ['river', 'stream', 'creek', 'riverbank'] },
  waterfall: { kind: 'feature', words: ['waterfall', 'falls'] },
  road: { kind: 'feature', words: ['road', 'highway', 'roadside'] },
  pool: { kind: 'feature', words: ['pool', 'swimming pool'] },
  rain: { kind: 'weather', words: ['rain', 'rainy', 'rainy day', 'drizzle', 'downpour'] },
  storm: { kind: 'weather', words: ['storm', 'thunderstorm', 'lightning storm'] },
  snowfall: { kind: 'weather', words: ['snowfall', 'snowstorm', 'blizzard', 'snowflakes'] },
  room: { kind: 'indoor', words: ['room', 'indoors', 'interior', 'wall'] },
  'living room': { kind: 'indoor', words: ['living room', 'lounge'] },
  kitchen: { kind: 'indoor', words: ['kitchen', 'kitchen counter', 'kitchen table', 'countertop'] },
  bedroom: { kind: 'indoor', words: ['bedroom'] },
  bathroom: { kind: 'indoor', words: ['bathroom'] },
  classroom: { kind: 'indoor', words: ['classroom'] },
  garage: { kind: 'indoor', words: ['garage'] },
  stage: { kind: 'indoor', words: ['stage', 'concert'] },
  cave: { kind: 'whole', words: ['cave', 'cavern', 'grotto'] },
  space: { kind: 'whole', words: ['space', 'outer space', 'galaxy', 'universe', 'cosmos'] },
  ocean: {
    kind: 'whole',
    words: ['ocean', 'underwater', 'seabed', 'sea floor', 'deep sea', 'under the sea'],
  },
  'open sea': { kind: 'land', words: ['open sea', 'high seas', 'ocean', 'sea', 'waves'] },
};

// A word that names two scenes selects the first; the later one is reached by how it is named
// ("on the ocean" is its surface, parse-prompt.ts) and still counts those words as its own.
const SCENE_BY_WORDS = new Map<string, string>();
for (const [name, { words }] of Object.entries(SCENES))
  for (const w of words) if (!SCENE_BY_WORDS.has(w)) SCENE_BY_WORDS.set(w, name);

/** The scene a phrase names ("starry sky", "living room", "the woods"), or undefined. */
export function sceneFor(words: string[], written: string[] = words): string | undefined {
  for (let k = Math.min(words.length, 3); k >= 1; k--) {
    const hit =
      SCENE_BY_WORDS.get(written.slice(-k).join(' ')) ?? SCENE_BY_WORDS.get(words.slice(-k).join(' '));
    if (hit) return hit;
  }
  return undefined;
}

const rect = (x: number, y: number, width: number, height: number, fill: string): Element => ({
  tag: 'rect',
  attrs: { x, y, width, height, fill },
});
const circle = (cx: number, cy: number, r: number, fill: string, opacity?: number): Element => ({
  tag: 'circle',
  attrs: opacity === undefined ? { cx, cy, r, fill } : { cx, cy, r, fill, opacity },
});
const ellipse = (cx: number, cy: number, rx: number, ry: number, fill: string): Element => ({
  tag: 'ellipse',
  attrs: { cx, cy, rx, ry, fill },
});
const path = (d: string, fill: string): Element => ({ tag: 'path', attrs: { d, fill } });
const polygon = (points: string, fill: string): Element => ({ tag: 'polygon', attrs: { points, fill } });
const stroke = (d: string, color: string, width: number): Element => ({
  tag: 'path',
  attrs: { d, fill: 'none', stroke: color, 'stroke-width': width },
});

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
      ellipse(x, cy + 8, 46, 14, fill),
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

function trees(at: [number, number][], leaf: string): Element[] {
  return at.flatMap(([x, s]) => {
    const top = 400 - 190 * s;
    return [
      rect(x - 6, 360, 12, 40, '#6d4534'),
      polygon(`${x},${top} ${x - 48 * s},370 ${x + 48 * s},370`, leaf),
    ];
  });
}

function water(night: boolean): { deep: string; light: string } {
  return night ? { deep: '#1f4e8c', light: '#2f63a8' } : { deep: '#3fa9f5', light: '#7cc8f8' };
}

interface Land {
  elements: Element[];
  groundY: number;
}

/** Ground scenes: elements from the horizon down. */
function land(name: string, night: boolean, rand: () => number, snowy = false): Land {
  // Snow named with another ground covers its grass.
  const grass = snowy ? '#ffffff' : night ? '#2f5d3a' : '#7cc36e';
  const grassShade = snowy ? '#e4eef6' : night ? '#264d30' : '#66ad59';
  const sea = water(night);
  switch (name) {
    case 'park':
      return {
        elements: [
          ...hillGround(392, grass, grassShade),
          path('M300 512C300 470 250 440 262 398h24C280 440 336 470 346 512z', '#e2c48f'),
          circle(60, 392, 26, '#4f9a3c'),
          circle(86, 398, 20, '#5fae48'),
          circle(462, 396, 24, '#4f9a3c'),
        ],
        groundY: 430,
      };
    case 'garden': {
      const flowers = Array.from({ length: 14 }, (_, k) =>
        circle(
          18 + k * 36 + Math.round((rand() - 0.5) * 10),
          470 + Math.round((rand() - 0.5) * 24),
          6,
          ['#ff6b8a', '#ffd93b', '#ffffff', '#b085f5'][k % 4],
        ),
      );
      return { elements: [...hillGround(392, grass, grassShade), ...flowers], groundY: 430 };
    }
    case 'farm':
      return {
        elements: [
          ...hillGround(392, grass, grassShade),
          polygon('380,300 430,262 480,300', '#8f2d22'),
          rect(386, 300, 88, 90, '#c0392b'),
          rect(416, 340, 28, 50, '#f3e9dc'),
          ...[20, 60, 100, 140, 180].map((x) => rect(x, 370, 6, 36, '#a87b55')),
          rect(16, 378, 172, 5, '#a87b55'),
          rect(16, 392, 172, 5, '#a87b55'),
        ],
        groundY: 430,
      };
    case 'village': {
      const cottages = [
        [30, 0.8],
        [120, 0.6],
        [380, 0.7],
        [450, 0.85],
      ].flatMap(([x, k]) => [
        rect(x, 396 - 50 * k, 60 * k, 50 * k, '#f3e0c0'),
        polygon(
          `${x - 6},${396 - 50 * k} ${x + 30 * k},${396 - 84 * k} ${x + 60 * k + 6},${396 - 50 * k}`,
          '#c0392b',
        ),
        rect(x + 22 * k, 396 - 26 * k, 16 * k, 26 * k, '#8d5b3a'),
      ]);
      return { elements: [...cottages, ...hillGround(392, grass, grassShade)], groundY: 430 };
    }
    case 'mud':
      return {
        elements: [
          ...hillGround(392, night ? '#4a3a2a' : '#8a6a48', night ? '#3d3023' : '#755a3d'),
          ellipse(140, 470, 90, 16, '#5e4630'),
          ellipse(390, 452, 70, 12, '#5e4630'),
        ],
        groundY: 430,
      };
    case 'hill':
      return {
        elements: [
          path('M0 420C90 300 420 300 512 420V512H0z', grass),
          ...hillGround(420, grassShade, grassShade),
        ],
        groundY: 440,
      };
    case 'forest':
      return {
        elements: [
          ...trees(
            [
              [40, 1],
              [130, 0.8],
              [380, 0.9],
              [470, 1.1],
            ],
            night ? '#1f5a27' : '#2e7d32',
          ),
          ...(snowy
            ? hillGround(392, grass, grassShade)
            : hillGround(392, night ? '#2f5d3a' : '#5da83e', night ? '#264d30' : '#4a8f31')),
        ],
        groundY: 430,
      };
    case 'jungle': {
      const leaves: Element[] = [];
      for (const x of [30, 110, 400, 482]) {
        leaves.push(rect(x - 7, 200, 14, 200, '#6d4534'));
        for (const dx of [-34, 0, 34])
          leaves.push(ellipse(x + dx, 200 + Math.abs(dx) / 2, 40, 16, '#2f8f3a'));
      }
      return {
        elements: [...leaves, ...hillGround(392, '#3f8f2f', '#2f7a24'), circle(200, 408, 22, '#2f7a24')],
        groundY: 430,
      };
    }
    case 'desert':
      return {
        elements: [
          path('M0 360C80 330 160 340 230 372C300 340 420 330 512 356V400H0z', '#e8bd72'),
          ...hillGround(392, '#f2cf87', '#e3b665'),
        ],
        groundY: 430,
      };
    case 'beach':
      return {
        elements: [
          rect(0, 300, 512, 90, sea.deep),
          path('M0 318c40-8 80-8 128 0s88 8 128 0s88-8 128 0s88 8 128 0v10H0z', sea.light),
          path('M0 392C140 360 330 364 512 384V512H0z', '#f4d58d'),
          path('M0 450C170 430 350 436 512 452V512H0z', '#e9c46a'),
        ],
        groundY: 420,
      };
    case 'open sea':
      return {
        elements: [
          rect(0, 300, 512, 212, sea.deep),
          path('M0 318c40-8 80-8 128 0s88 8 128 0s88-8 128 0s88 8 128 0v10H0z', sea.light),
          path('M0 400c40-8 80-8 128 0s88 8 128 0s88-8 128 0s88 8 128 0v10H0z', sea.light),
          path('M0 470c40-8 80-8 128 0s88 8 128 0s88-8 128 0s88 8 128 0v10H0z', sea.light),
        ],
        groundY: 440,
      };
    case 'island':
      return {
        elements: [
          rect(0, 330, 512, 182, sea.deep),
          path('M0 350c40-8 80-8 128 0s88 8 128 0s88-8 128 0s88 8 128 0v10H0z', sea.light),
          path('M60 460C120 380 392 380 452 460z', '#f4d58d'),
          path('M0 480c60-10 120-10 180 0s120 10 180 0s100-10 152 0V512H0z', sea.light),
        ],
        groundY: 440,
      };
    case 'snow':
      return { elements: hillGround(392, '#ffffff', '#e4eef6'), groundY: 430 };
    case 'ice':
      return {
        elements: [
          rect(0, 330, 512, 182, night ? '#16365f' : '#2f7fc1'),
          path('M40 420L90 372H420L476 420V470H40z', '#eef7ff'),
          path('M40 470V420H476V470z', '#cfe6f7'),
          path('M330 372l20-60 40 60z', '#eef7ff'),
        ],
        groundY: 440,
      };
    case 'city': {
      const els: Element[] = [];
      for (const [x, top] of [
        [10, 180],
        [92, 120],
        [168, 210],
        [262, 150],
        [344, 230],
        [430, 140],
      ]) {
        const h = top + Math.round(rand() * 30);
        els.push(rect(x, 400 - h, 74, h, night ? '#34406b' : '#9aaabf'));
        for (let wy = 400 - h + 16; wy < 380; wy += 34)
          els.push(rect(x + 14, wy, 14, 14, night ? '#ffd966' : '#d8e3ef'));
      }
      els.push(rect(0, 396, 512, 116, '#8d949c'), rect(0, 448, 512, 8, '#d4d8dc'));
      return { elements: els, groundY: 428 };
    }
    default:
      return { elements: hillGround(392, grass, grassShade), groundY: 430 };
  }
}

function far(name: string, night: boolean): Element[] {
  if (name === 'mountains')
    return [
      polygon('-20,400 120,190 260,400', night ? '#3b4a6b' : '#7b8fa8'),
      polygon('180,400 340,150 500,400', night ? '#46577a' : '#8ea3bb'),
      polygon('340,400 450,240 560,400', night ? '#3b4a6b' : '#7b8fa8'),
      polygon('92,232 120,190 148,232 134,226 120,238 106,226', '#ffffff'),
      polygon('308,200 340,150 372,200 356,192 340,206 324,192', '#ffffff'),
    ];
  // valley: slopes rising on both sides of a low middle.
  return [
    path('M0 170C120 200 200 330 256 400H0z', night ? '#2a4a34' : '#5e9e4c'),
    path('M512 160C390 200 310 330 256 400H512z', night ? '#2a4a34' : '#6aad57'),
  ];
}

function feature(name: string, night: boolean, groundY: number): Element[] {
  const sea = water(night);
  switch (name) {
    case 'pond':
      return [ellipse(380, 470, 110, 28, sea.deep), ellipse(372, 466, 80, 16, sea.light)];
    case 'lake':
      return [
        path(
          `M0 ${groundY - 22}C150 ${groundY - 36} 360 ${groundY - 36} 512 ${groundY - 22}V${groundY + 8}H0z`,
          sea.deep,
        ),
      ];
    case 'river':
      return [
        path(
          `M236 ${groundY - 36}h40C300 440 380 470 420 512H200C230 470 220 430 236 ${groundY - 36}z`,
          sea.deep,
        ),
      ];
    case 'waterfall':
      return [
        path('M0 150H150V420H0z', '#8a7a6a'),
        rect(92, 150, 52, 280, sea.light),
        rect(104, 150, 14, 280, '#ffffff'),
        ellipse(118, 440, 110, 26, sea.deep),
        ellipse(118, 432, 60, 10, '#ffffff'),
      ];
    case 'pool':
      return [
        path('M120 420H392L430 500H82z', '#e8e2d6'),
        path('M134 428H378L408 490H104z', '#4fc3f7'),
        path('M150 446c30-6 60 6 90 0s60-6 90 0', '#b3e5fc'),
      ];
    default: {
      // road: a band with a dashed centre line.
      const y = Math.min(groundY + 20, 470);
      const dashes = Array.from({ length: 8 }, (_, k) => rect(k * 68 + 10, y + 16, 36, 5, '#f5f5f5'));
      return [rect(0, y, 512, 38, '#6f767e'), ...dashes];
    }
  }
}

function weather(name: string, rand: () => number): Element[] {
  if (name === 'snowfall')
    return Array.from({ length: 30 }, () =>
      circle(
        Math.round(rand() * 500) + 6,
        Math.round(rand() * 380) + 10,
        2 + Math.round(rand() * 2),
        '#ffffff',
      ),
    );
  const drops = Array.from({ length: 22 }, () => {
    const x = Math.round(rand() * 490) + 10;
    const y = Math.round(rand() * 300) + 110;
    return stroke(`M${x} ${y}l-6 18`, '#5d89b3', 3);
  });
  if (name === 'storm')
    drops.push(polygon('300,110 268,190 296,190 276,260 330,170 300,170 318,110', '#ffd93b'));
  return [...clouds(rand, 70, '#7d8b99'), ...drops];
}

function indoor(name: string): Element[] {
  const floor = [rect(0, 380, 512, 132, '#c9a27e'), rect(0, 372, 512, 10, '#b08866')];
  const wall = (color: string) => rect(0, 0, 512, 512, color);
  const window = [
    rect(320, 70, 140, 130, '#ffffff'),
    rect(328, 78, 124, 114, '#bfe3ff'),
    rect(386, 78, 8, 114, '#ffffff'),
  ];
  switch (name) {
    case 'living room':
      return [wall('#f3e9dc'), ...window, ...floor, ellipse(256, 462, 200, 30, '#b5533c')];
    case 'bedroom':
      return [
        wall('#e8e0f3'),
        ...window,
        rect(306, 60, 28, 150, '#9b7fc9'),
        rect(446, 60, 28, 150, '#9b7fc9'),
        ...floor,
        ellipse(256, 462, 180, 26, '#d4c4ec'),
      ];
    case 'kitchen': {
      const tiles = [0, 64, 128, 192, 256, 320, 384, 448].map((x) => rect(x + 2, 190, 60, 60, '#e9f1f5'));
      return [
        wall('#fdf6e3'),
        rect(0, 186, 512, 68, '#c8d6de'),
        ...tiles,
        rect(0, 40, 512, 110, '#8fb3a5'),
        ...[0, 128, 256, 384].map((x) => rect(x + 8, 48, 112, 94, '#a4c6b8')),
        ...floor,
      ];
    }
    case 'bathroom': {
      const tiles: Element[] = [];
      for (let y = 0; y < 372; y += 46)
        for (let x = 0; x < 512; x += 46) tiles.push(rect(x + 2, y + 2, 42, 42, '#dff3f7'));
      return [wall('#bfe1e8'), ...tiles, rect(0, 380, 512, 132, '#9fb8c0'), rect(0, 372, 512, 10, '#87a2ab')];
    }
    case 'classroom':
      return [
        wall('#f1ead2'),
        rect(96, 60, 320, 170, '#8a6a4a'),
        rect(106, 70, 300, 150, '#2f5d46'),
        ...floor,
      ];
    case 'garage': {
      const slats = Array.from({ length: 9 }, (_, k) => rect(70, 70 + k * 32, 372, 4, '#8f969d'));
      return [
        wall('#b8bec4'),
        rect(60, 60, 392, 316, '#d4d8dc'),
        ...slats,
        rect(0, 376, 512, 136, '#9aa0a6'),
      ];
    }
    case 'stage':
      return [
        wall('#2b1d33'),
        ellipse(256, 380, 170, 40, '#5a4466'),
        path('M0 0H120C110 160 100 300 70 400H0z', '#b3202d'),
        path('M512 0H392C402 160 412 300 442 400H512z', '#b3202d'),
        rect(0, 0, 512, 40, '#8f1822'),
        rect(0, 400, 512, 112, '#9a6a3e'),
        rect(0, 400, 512, 10, '#7d5230'),
      ];
    default:
      return [wall('#f3e9dc'), ...floor];
  }
}

/** The backdrop for the scenes named (in prompt order), or undefined when none is. */
export function backdrop(named: string[], rand: () => number): Backdrop | undefined {
  const scenes = [...new Set(named)].filter((s) => SCENES[s]);
  if (scenes.length === 0) return undefined;
  const of = (kind: SceneKind) => scenes.filter((s) => SCENES[s].kind === kind);
  const room = of('indoor')[0];
  if (room) return { elements: indoor(room), groundY: 440, skyColor: '#f3e9dc', scenes: [room] };
  const world = of('whole')[0];
  if (world === 'space')
    return {
      elements: [rect(0, 0, 512, 512, '#0b1026'), ...stars(rand, 40, 490)],
      skyColor: '#0b1026',
      scenes: ['space'],
    };
  if (world === 'cave')
    return {
      elements: [
        rect(0, 0, 512, 512, '#3b2f2a'),
        path('M40 512C40 260 130 120 256 120S472 260 472 512z', '#1c1512'),
        path('M0 0H512V200C430 150 360 90 256 90S70 150 0 220z', '#5a4a40'),
        polygon('150,110 166,170 182,110', '#5a4a40'),
        polygon('320,104 334,150 348,104', '#5a4a40'),
        path('M0 440C150 420 360 424 512 440V512H0z', '#6b5a4e'),
      ],
      groundY: 452,
      skyColor: '#1c1512',
      scenes: ['cave'],
    };
  if (world === 'ocean')
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
      scenes: ['ocean'],
    };

  const skies = of('sky');
  const weathers = of('weather');
  const night = skies.includes('night');
  const sunset = !night && skies.includes('sunset');
  const overcast = !night && !sunset && weathers.some((w) => w !== 'snowfall');
  const snowy = scenes.includes('snow');
  const skyColor = night
    ? '#1d2b53'
    : sunset
      ? '#ffb36b'
      : overcast
        ? '#9fb1c2'
        : snowy
          ? '#dcebf7'
          : '#bfe3ff';
  const els: Element[] = [rect(0, 0, 512, 512, skyColor)];
  if (night) els.push(...stars(rand, 24, 260), circle(420, 86, 34, '#fff3b0'), circle(406, 78, 30, skyColor));
  else if (sunset) els.push(rect(0, 250, 512, 150, '#ff8a5c'), circle(256, 330, 70, '#ffd166'));
  else if (!overcast) els.push(circle(430, 80, 36, '#ffd93b'), ...clouds(rand, 110));

  const fars = of('far');
  const lands = of('land');
  const features = of('feature');
  // A sky alone (things flying) has no ground; night or weather alone falls over a field.
  if (skies.length === 1 && skies[0] === 'sky' && fars.length + lands.length + features.length === 0) {
    for (const w of weathers) els.push(...weather(w, rand));
    return { elements: els, skyColor, scenes: [...skies, ...weathers] };
  }
  for (const f of fars) els.push(...far(f, night));
  const ground = land(lands[0] ?? 'field', night, rand, snowy);
  els.push(...ground.elements);
  for (const f of features) els.push(...feature(f, night, ground.groundY));
  // Snow named with another ground ("the woods in the snow") falls on it.
  if (snowy && !weathers.includes('snowfall')) els.push(...weather('snowfall', rand));
  const snowFalls = snowy && lands[0] !== 'snow';
  for (const w of weathers) els.push(...weather(w, rand));
  return {
    elements: els,
    groundY: ground.groundY,
    skyColor,
    scenes: [
      ...skies,
      ...fars,
      ...lands.slice(0, 1),
      ...(snowFalls ? ['snow'] : []),
      ...features,
      ...weathers,
    ],
  };
}
