// The playground page `chat2svg serve` answers at `/`: static files from ./playground/, read once at
// start, with headers that let the page run only its own script and show only its own drawings.
import { readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { REPO_ROOT } from '../definition.ts';
import type { Reply, Route } from './server.ts';

// From the repository root, not this module: under the prebuilt bundle this code is in dist/local/.
const DIR = join(REPO_ROOT, 'src/local/serve/playground');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/**
 * No inline script or style; fetches and images only from this server, plus the blob: URLs the page
 * makes for drawings (an SVG in an <img> never runs script; only this page can mint its blob: URLs).
 */
export const PAGE_HEADERS: Record<string, string> = {
  'content-security-policy': [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' blob: data:",
    "connect-src 'self' blob:",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; '),
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'permissions-policy': 'camera=(), microphone=(), geolocation=()',
  'cache-control': 'no-cache',
};

export function playgroundRoutes(): Route[] {
  const files = new Map<string, Reply>();
  for (const name of readdirSync(DIR)) {
    const contentType = TYPES[extname(name)];
    if (!contentType) continue;
    files.set(name, {
      status: 200,
      text: readFileSync(join(DIR, name)),
      contentType,
      headers: PAGE_HEADERS,
    });
  }
  const file = (name: string): Reply =>
    files.get(name) ?? { status: 404, json: { message: 'not found' }, headers: PAGE_HEADERS };
  return [
    { method: 'GET', path: /^\/$/, handle: () => file('index.html') },
    { method: 'GET', path: /^\/playground\/(?<name>[\w.-]+)$/, handle: ({ params }) => file(params.name) },
  ];
}
