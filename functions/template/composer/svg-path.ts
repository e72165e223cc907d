// Minimal SVG path-data toolkit: enough to measure icon shapes (bounding box, area) and to bake a
// uniform scale + translation into path coordinates, so composed templates need no transforms.

export interface Segment {
  cmd: string;
  args: number[];
}

export interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

const ARITY: Record<string, number> = { m: 2, l: 2, h: 1, v: 1, c: 6, s: 4, q: 4, t: 2, a: 7, z: 0 };
const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?/;

/** Splits path data into one segment per command application (implicit repeats made explicit). */
export function parsePath(d: string): Segment[] {
  const segments: Segment[] = [];
  let i = 0;
  let cmd = '';
  const skip = () => {
    while (i < d.length && /[\s,]/.test(d[i])) i++;
  };
  const readNumber = (flag: boolean): number => {
    skip();
    if (flag && (d[i] === '0' || d[i] === '1')) return Number(d[i++]);
    const m = NUMBER.exec(d.slice(i, i + 40));
    if (!m) throw new Error(`bad path data near "${d.slice(i, i + 12)}"`);
    i += m[0].length;
    return Number(m[0]);
  };
  for (;;) {
    skip();
    if (i >= d.length) break;
    if (/[a-zA-Z]/.test(d[i])) cmd = d[i++];
    else if (!cmd) throw new Error('path data must start with a command');
    const written = cmd;
    // A leading relative moveto is absolute (the current point starts at the origin).
    if (segments.length === 0 && cmd === 'm') cmd = 'M';
    const lower = cmd.toLowerCase();
    const arity = ARITY[lower];
    if (arity === undefined) throw new Error(`unknown path command ${cmd}`);
    const args: number[] = [];
    for (let k = 0; k < arity; k++) args.push(readNumber(lower === 'a' && (k === 3 || k === 4)));
    segments.push({ cmd, args });
    if (lower === 'z') cmd = '';
    // Coordinates after a moveto are implicit linetos.
    else if (lower === 'm') cmd = written === 'm' ? 'l' : 'L';
  }
  return segments;
}

/** Bounding box (control points included, so slightly generous) and the enclosed area of the endpoint polygon. */
export function pathGeometry(segments: Segment[]): { box: Box; area: number } {
  let x = 0;
  let y = 0;
  let startX = 0;
  let startY = 0;
  let minX = Number.POSITIVE_INFINITY;
  let minY = Number.POSITIVE_INFINITY;
  let maxX = Number.NEGATIVE_INFINITY;
  let maxY = Number.NEGATIVE_INFINITY;
  let area = 0;
  let ring = 0;
  const see = (px: number, py: number) => {
    if (px < minX) minX = px;
    if (px > maxX) maxX = px;
    if (py < minY) minY = py;
    if (py > maxY) maxY = py;
  };
  const moveTo = (nx: number, ny: number) => {
    ring += x * ny - nx * y;
    x = nx;
    y = ny;
    see(x, y);
  };
  const closeRing = () => {
    ring += x * startY - startX * y;
    area += Math.abs(ring) / 2;
    ring = 0;
  };
  for (const { cmd, args } of segments) {
    const rel = cmd === cmd.toLowerCase();
    const ox = rel ? x : 0;
    const oy = rel ? y : 0;
    switch (cmd.toLowerCase()) {
      case 'm':
        closeRing();
        x = ox + args[0];
        y = oy + args[1];
        startX = x;
        startY = y;
        see(x, y);
        break;
      case 'h':
        moveTo(ox + args[0], y);
        break;
      case 'v':
        moveTo(x, oy + args[0]);
        break;
      case 'a': {
        // The arc's bulge can reach past both endpoints by up to its radii.
        const ex = ox + args[5];
        const ey = oy + args[6];
        const r = Math.max(Math.abs(args[0]), Math.abs(args[1]));
        const mx = (x + ex) / 2;
        const my = (y + ey) / 2;
        const half = Math.hypot(ex - x, ey - y) / 2;
        const reach = Math.min(r, half + r);
        see(mx - reach, my - reach);
        see(mx + reach, my + reach);
        moveTo(ex, ey);
        break;
      }
      case 'z':
        moveTo(startX, startY);
        break;
      default:
        for (let k = 0; k + 1 < args.length - 2; k += 2) see(ox + args[k], oy + args[k + 1]);
        moveTo(ox + args[args.length - 2], oy + args[args.length - 1]);
    }
  }
  closeRing();
  if (minX > maxX) return { box: { x: 0, y: 0, w: 0, h: 0 }, area: 0 };
  return { box: { x: minX, y: minY, w: maxX - minX, h: maxY - minY }, area };
}

export function fmt(n: number): string {
  const r = Math.round(n * 100) / 100;
  return Object.is(r, -0) ? '0' : String(r);
}

/** Path data with p ↦ p·s + (tx, ty) baked in; relative commands only scale. */
export function transformPath(segments: Segment[], s: number, tx: number, ty: number): string {
  const out: string[] = [];
  for (const { cmd, args } of segments) {
    const rel = cmd === cmd.toLowerCase();
    const lower = cmd.toLowerCase();
    let next: number[];
    if (lower === 'h') next = [args[0] * s + (rel ? 0 : tx)];
    else if (lower === 'v') next = [args[0] * s + (rel ? 0 : ty)];
    else if (lower === 'a')
      next = [
        args[0] * s,
        args[1] * s,
        args[2],
        args[3],
        args[4],
        args[5] * s + (rel ? 0 : tx),
        args[6] * s + (rel ? 0 : ty),
      ];
    else next = args.map((v, k) => v * s + (rel ? 0 : k % 2 === 0 ? tx : ty));
    out.push(cmd + next.map(fmt).join(' '));
  }
  return out.join('');
}
