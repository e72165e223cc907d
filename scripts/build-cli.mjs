#!/usr/bin/env node
// Bundles the chat2svg CLI and the Lambda handler modules it runs into dist/local/ (gitignored), so
// a run starts without transpiling TypeScript. bin/chat2svg rebuilds it when a source is newer.
// cli.js and every shared chunk sit two levels below the repository, as src/local/*.ts and
// infra/constructs/*.ts do, so their `new URL('../../', import.meta.url)` is the repository root
// in both forms. Node packages stay external: they load from node_modules as they would under tsx.
import { readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const handlers = (dir) =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return handlers(path);
    return entry.name.endsWith('.ts') && /export function configFromEnv/.test(readFileSync(path, 'utf8'))
      ? [path]
      : [];
  });
const entryPoints = { cli: join(root, 'src/local/cli.ts') };
for (const file of handlers(join(root, 'functions')))
  entryPoints[relative(root, file).replace(/\.ts$/, '')] = file;

const out = join(root, 'dist/local');
const partial = `${out}.${process.pid}.tmp`;
await build({
  entryPoints,
  outdir: partial,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  chunkNames: '[name]-[hash]',
  logLevel: 'error',
});
// Swap in whole: a concurrent run sees the old bundle or the new one, never half of one.
rmSync(out, { recursive: true, force: true });
renameSync(partial, out);
