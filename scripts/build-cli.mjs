#!/usr/bin/env node
// Bundles the chat2svg CLI and the Lambda handler modules it runs into dist/local/ (gitignored), so
// a run starts without transpiling TypeScript. bin/chat2svg rebuilds it when a source is newer.
// cli.js and every shared chunk sit two levels below the repository, as src/local/*.ts and
// infra/constructs/*.ts do, so their `new URL('../../', import.meta.url)` is the repository root
// in both forms. Node packages stay external: they load from node_modules as they would under tsx.
import { readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
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

const EXTERNAL = [
  'aws-cdk-lib',
  'constructs',
  'cdk-nag',
  'esbuild',
  'classic-level',
  'css-tree',
  'csso',
  '@resvg/resvg-js',
  'asl-validator',
];
// aws-local-stepfunctions imports, at its top, what the local runtime never has it use: a Lambda
// client for Tasks without an override (the runtime overrides every Task: src/local/tasks.ts) and
// the ASL validator (run once per synthesis, src/local/definition.ts). Loading them costs a third
// of a cold start, so in the bundle the first is a stub that refuses, the second loads on its use.
const engineImports = {
  name: 'engine-imports',
  setup(b) {
    const fromEngine = { filter: /^(@aws-sdk\/client-lambda|@aws-sdk\/credential-providers|asl-validator)$/ };
    b.onResolve(fromEngine, (args) =>
      /node_modules\/aws-local-stepfunctions\//.test(args.importer)
        ? { path: args.path, namespace: 'engine' }
        : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'engine' }, ({ path }) => ({
      contents:
        path === 'asl-validator'
          ? "export default (...args) => require('asl-validator')(...args);"
          : `const refuse = () => { throw new Error('${path} is not used by the local runtime: every Task has a local handler'); };
             export class LambdaClient { constructor() { refuse(); } }
             export class InvokeCommand { constructor() { refuse(); } }
             export const fromCognitoIdentityPool = refuse;`,
      loader: 'js',
    }));
  },
};
// zod re-exports all of its 60-odd message locales as `z.locales`; nothing here reads them (its
// English messages are configured by zod itself), so the bundle keeps English alone.
const zodLocales = {
  name: 'zod-locales',
  setup(b) {
    b.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
      /node_modules\/zod\/v4\/(classic|core)\//.test(args.importer)
        ? { path: join(args.resolveDir, '../locales/en.js') }
        : undefined,
    );
  },
};
// dynalite loads its actions by name; with an extension in the name, esbuild bundles them all.
const dynaliteActions = {
  name: 'dynalite-actions',
  setup(b) {
    b.onLoad({ filter: /node_modules\/dynalite\/index\.js$/ }, ({ path }) => ({
      contents: readFileSync(path, 'utf8').replace(
        /require\('\.\/(actions|validations)\/' \+ action\)/g,
        "require('./$1/' + action + '.js')",
      ),
      loader: 'js',
      resolveDir: dirname(path),
    }));
  },
};
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
  // npm packages are bundled too: resolving and compiling hundreds of small files is most of a
  // cold start. Those that find files beside their own sources at run time (native bindings, data
  // files, actions loaded by name) stay external, as does the CDK, which only a definition rebuild loads.
  external: EXTERNAL,
  plugins: [engineImports, zodLocales, dynaliteActions],
  // Bundled CommonJS code calls require() for Node built-ins.
  banner: {
    js: "import { createRequire as __bundleRequire } from 'node:module'; const require = __bundleRequire(import.meta.url);",
  },
  chunkNames: '[name]-[hash]',
  logLevel: 'error',
});
// Swap in whole: a concurrent run sees the old bundle or the new one, never half of one.
rmSync(out, { recursive: true, force: true });
renameSync(partial, out);
