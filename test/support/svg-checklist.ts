// An independent check of sanitized SVG, written without reusing the sanitizer's own lists: the
// elements and CSS functions a safe drawing may hold. The sanitizer tests and the fuzz run share it.

// biome-ignore format: packed lists read better
export const SAFE_ELEMENTS: ReadonlySet<string> = new Set(['svg', 'g', 'defs', 'title', 'desc', 'path', 'rect',
  'circle', 'ellipse', 'line', 'polyline', 'polygon', 'text', 'tspan', 'linearGradient', 'radialGradient', 'stop',
  'clipPath', 'mask', 'image', 'use', 'filter', 'feBlend', 'feColorMatrix', 'feComposite', 'feFlood',
  'feGaussianBlur', 'feMerge', 'feMergeNode', 'feOffset', 'symbol', 'pattern', 'marker']);

// biome-ignore format: packed lists read better
export const CSS_FUNCTIONS: readonly string[] = ['url', 'rgb', 'rgba', 'hsl', 'hsla', 'matrix', 'translate', 'scale',
  'rotate', 'skewx', 'skewy'];

/** The CSS function names a value calls, read with its whitespace kept: `red url(` calls url, not redurl. */
export function cssFunctionNames(value: string): string[] {
  const spaced = [...value]
    .map((c) => (c.charCodeAt(0) > 0x20 ? c : ' '))
    .join('')
    .toLowerCase();
  return [...spaced.matchAll(/([a-z-]*)\s*\(/g)].map((m) => m[1]);
}
