// The deployable state machine, made runnable here: synthesized in-process from infra/ (bundling
// off), its tokens resolved to local names, each Lambda mapped to its handler module and each task
// definition to its stage. Cached under the user's cache directory, keyed by this package (never
// in the directory the CLI runs in: a checkout must not be able to plant code for it to run),
// until infra/, functions/ or the lockfile change, since synthesis costs seconds.
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, realpathSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join, relative, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { AttributeDefinition, KeySchemaElement } from '@aws-sdk/client-dynamodb';
import { z } from 'zod';
import {
  type ContainerStageName,
  ContainerStageName as ContainerStageSchema,
  type StageName,
  StageName as StageNameSchema,
} from '#contracts/schemas';
import type { AslDefinition, CfnTemplate, ResolveRef } from '#infra/definition';
import { ENTRY_METADATA_KEY, ROLE_METADATA_KEY, STAGE_METADATA_KEY, type StageStep } from '#infra/metadata';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const FUNCTIONS_DIR = join(REPO_ROOT, 'functions');

export class UnsafeEntryError extends Error {
  constructor(entry: string, root: string = FUNCTIONS_DIR) {
    super(`handler entry ${JSON.stringify(entry).slice(0, 200)} points outside ${root}`);
    this.name = 'Definition.UnsafeEntry';
  }
}

/**
 * The handler module for a repository-relative entry, verified to be a .ts file inside `handlersDir`
 * (this package's functions/ unless a test says otherwise) once every `..` and symlink is resolved.
 */
export function resolveEntry(entry: string, handlersDir: string = FUNCTIONS_DIR): string {
  if (!/^\w[\w./-]*\.ts$/.test(entry) || isAbsolute(entry)) throw new UnsafeEntryError(entry, handlersDir);
  let path: string;
  try {
    path = realpathSync(join(REPO_ROOT, entry));
  } catch {
    throw new UnsafeEntryError(entry, handlersDir);
  }
  const root = realpathSync(handlersDir);
  if (!path.startsWith(root + sep)) throw new UnsafeEntryError(entry, handlersDir);
  return path;
}

/**
 * The module URL of a handler entry. Under the prebuilt bundle (scripts/build-cli.mjs, this code
 * then being .js in dist/local/) the handler's bundle beside it; under tsx its TypeScript source.
 */
export function handlerUrl(entry: string, handlersDir?: string): string {
  const path = resolveEntry(entry, handlersDir);
  if (!import.meta.url.endsWith('.js') || !entry.startsWith('functions/')) return pathToFileURL(path).href;
  return new URL(`./${entry.replace(/\.ts$/, '.js')}`, import.meta.url).href;
}

/** Bump when the shape of LocalDefinition changes, so old cache files are ignored. */
const CACHE_FORMAT = 4;

export interface LocalFunction {
  readonly logicalId: string;
  /** Function name (what `Ref` resolves to). */
  readonly name: string;
  readonly arn: string;
  /** Repository-relative handler module, e.g. `functions/record-outcome.ts`. */
  readonly entry: string;
  /** The synthesized Environment.Variables, tokens resolved to local names. */
  readonly environment: Record<string, string>;
  /** The synthesized Timeout (seconds; Lambda's default 3 when absent). */
  readonly timeoutSeconds: number;
  /** The synthesized MemorySize (MB; Lambda's default 128 when absent). */
  readonly memorySize: number;
  /** The stage step this function is (`chat2svg:role`), if it is stage work at all. */
  readonly role?: { readonly stage: StageName; readonly step: StageStep };
}

export interface LocalTaskDefinition {
  readonly logicalId: string;
  readonly arn: string;
  /** RunTask accepts the family (latest revision) as well as the ARN. */
  readonly family: string;
  readonly stage: ContainerStageName;
}

export interface LocalTable {
  readonly logicalId: string;
  readonly name: string;
  readonly KeySchema: KeySchemaElement[];
  readonly AttributeDefinitions: AttributeDefinition[];
}

export interface LocalDefinition {
  readonly format: number;
  /** Hash of what the definition was built from (sources, lockfile, synth options). */
  readonly sourceHash: string;
  /** Time the in-process synth took when this definition was built. */
  readonly synthMs: number;
  readonly stackName: string;
  readonly stateMachineLogicalId: string;
  readonly stateMachineName: string;
  readonly definition: AslDefinition;
  readonly functions: LocalFunction[];
  readonly taskDefinitions: LocalTaskDefinition[];
  readonly tables: LocalTable[];
  readonly buckets: string[];
}

export interface LoadDefinitionOptions {
  /** Where definition.json is cached. @default definitionCacheDir() */
  readonly cacheDir?: string;
  /** CDK context for the synth (e.g. `{ env: 'dev' }`); part of the cache key. @default {} */
  readonly context?: Record<string, string>;
  /** Read and write the cache file. @default true */
  readonly cache?: boolean;
}

/**
 * The container stages run here as run-local processes behind the task backend's RunTask state, so
 * an environment whose GPU backend is pool or batch (staging, prod) is synthesized with the task one.
 */
function localContext(context: Record<string, string>): Record<string, string> {
  return { gpuBackend: 'task', ...context };
}

export async function loadDefinition(options: LoadDefinitionOptions = {}): Promise<LocalDefinition> {
  const context = localContext(options.context ?? {});
  const sourceHash = hashSources(context);
  const cacheFile = definitionCacheFile(options.cacheDir);
  if (options.cache !== false) {
    const cached = readCachedDefinition(cacheFile, sourceHash);
    if (cached) return cached;
  }
  const definition = await synthesizeLocal(context, sourceHash);
  if (options.cache !== false) {
    mkdirSync(join(cacheFile, '..'), { recursive: true });
    // Write then rename: a concurrent reader never sees half a file.
    const partial = `${cacheFile}.${process.pid}.tmp`;
    writeFileSync(partial, JSON.stringify(definition));
    renameSync(partial, cacheFile);
  }
  return definition;
}

/** Synthesizes the pipeline in-process and resolves it to local names. Never cached. */
export async function synthesizeLocal(
  context: Record<string, string> = {},
  sourceHash = '',
): Promise<LocalDefinition> {
  const started = performance.now();
  // Imported here so a cached run never loads aws-cdk-lib at all.
  const infra = await import('#infra/definition');
  const pipeline = infra.synthesizePipeline({ context: localContext(context) });
  const synthMs = Math.round(performance.now() - started);
  const { template } = pipeline;
  const resolveRef = infra.localResolveRef(template);
  const definition = infra.resolveDefinition(pipeline, resolveRef);
  // Checked here, once per synthesis, so a run (from the cache) need not check it again.
  const { engineFor } = await import('./engine-adapter.ts');
  engineFor(definition, { validate: true });
  const resolve = (value: unknown) => infra.resolveCfn(value, resolveRef);

  const functions: LocalFunction[] = [];
  const taskDefinitions: LocalDefinition['taskDefinitions'] = [];
  const tables: LocalTable[] = [];
  const buckets: string[] = [];
  for (const [logicalId, resource] of Object.entries(template.Resources)) {
    const props = resource.Properties ?? {};
    switch (resource.Type) {
      case 'AWS::Lambda::Function': {
        const entry = resource.Metadata?.[ENTRY_METADATA_KEY];
        // Functions CDK adds on its own (log retention, custom resources) never run in the machine.
        if (typeof entry !== 'string') continue;
        const variables = (props.Environment as { Variables?: unknown } | undefined)?.Variables ?? {};
        functions.push({
          logicalId,
          name: resolveRef(logicalId),
          arn: resolveRef(logicalId, 'Arn'),
          entry,
          environment: stringRecord(resolve(variables), logicalId),
          timeoutSeconds: Number(props.Timeout ?? 3),
          memorySize: Number(props.MemorySize ?? 128),
          role: parseRole(resource.Metadata?.[ROLE_METADATA_KEY], logicalId),
        });
        break;
      }
      case 'AWS::ECS::TaskDefinition': {
        const stage = ContainerStageSchema.safeParse(resource.Metadata?.[STAGE_METADATA_KEY]);
        if (!stage.success) break;
        const family = resolve(props.Family ?? logicalId);
        taskDefinitions.push({
          logicalId,
          arn: resolveRef(logicalId),
          family: String(family),
          stage: stage.data,
        });
        break;
      }
      case 'AWS::DynamoDB::Table':
        tables.push({
          logicalId,
          name: resolveRef(logicalId),
          KeySchema: props.KeySchema as KeySchemaElement[],
          AttributeDefinitions: props.AttributeDefinitions as AttributeDefinition[],
        });
        break;
      case 'AWS::S3::Bucket':
        buckets.push(resolveRef(logicalId));
        break;
    }
  }
  const stateMachine = template.Resources[pipeline.stateMachineLogicalId];
  const stateMachineName =
    typeof stateMachine.Properties?.StateMachineName === 'string'
      ? stateMachine.Properties.StateMachineName
      : pipeline.stateMachineLogicalId;
  return {
    format: CACHE_FORMAT,
    sourceHash,
    synthMs,
    stackName: pipeline.stackName,
    stateMachineLogicalId: pipeline.stateMachineLogicalId,
    stateMachineName,
    definition,
    functions,
    taskDefinitions,
    tables,
    buckets,
  };
}

/** A fresh synth, never cached: for checking the runtime against the template itself. */
export async function synthesizeTemplate(
  context: Record<string, string> = {},
): Promise<{ template: CfnTemplate; definition: AslDefinition; resolveRef: ResolveRef }> {
  const infra = await import('#infra/definition');
  const pipeline = infra.synthesizePipeline({ context: localContext(context) });
  const resolveRef = infra.localResolveRef(pipeline.template);
  return {
    template: pipeline.template,
    definition: infra.resolveDefinition(pipeline, resolveRef),
    resolveRef,
  };
}

function parseRole(value: unknown, owner: string): LocalFunction['role'] {
  if (value === undefined) return undefined;
  const [stage, step] = String(value).split('.');
  if (!StageNameSchema.safeParse(stage).success || (step !== 'run' && step !== 'degrade'))
    throw new Error(`${owner}: ${ROLE_METADATA_KEY} "${String(value)}" is not <stage>.<run|degrade>`);
  return { stage: stage as StageName, step };
}

function stringRecord(value: unknown, owner: string): Record<string, string> {
  const record: Record<string, string> = {};
  for (const [key, item] of Object.entries((value ?? {}) as Record<string, unknown>)) {
    if (typeof item !== 'string') throw new Error(`${owner}: environment ${key} did not resolve to a string`);
    record[key] = item;
  }
  return record;
}

/** The user's cache directory: $XDG_CACHE_HOME, else the platform's usual place. */
function userCacheDir(): string {
  if (process.env.XDG_CACHE_HOME) return process.env.XDG_CACHE_HOME;
  if (process.platform === 'darwin') return join(homedir(), 'Library', 'Caches');
  if (process.platform === 'win32') return process.env.LOCALAPPDATA ?? join(homedir(), 'AppData', 'Local');
  return join(homedir(), '.cache');
}

/** `<user cache>/chat2svg/<package key>/`: one per installed copy of this package. */
export function definitionCacheDir(): string {
  const version = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version?: string })
    .version;
  const key = createHash('sha256')
    .update(`${realpathSync(REPO_ROOT)}\0${version}`)
    .digest('hex')
    .slice(0, 16);
  return join(userCacheDir(), 'chat2svg', key);
}

export function definitionCacheFile(cacheDir = definitionCacheDir()): string {
  return join(cacheDir, 'definition.json');
}

const Named = { logicalId: z.string(), arn: z.string() };
const CachedDefinition = z.object({
  format: z.literal(CACHE_FORMAT),
  sourceHash: z.string(),
  synthMs: z.number(),
  stackName: z.string(),
  stateMachineLogicalId: z.string(),
  stateMachineName: z.string(),
  definition: z
    .object({ StartAt: z.string(), States: z.record(z.string(), z.object({ Type: z.string() }).loose()) })
    .loose(),
  functions: z.array(
    z.object({
      ...Named,
      name: z.string(),
      entry: z.string().refine((entry) => {
        try {
          resolveEntry(entry);
          return true;
        } catch {
          return false;
        }
      }),
      environment: z.record(z.string(), z.string()),
      timeoutSeconds: z.number(),
      memorySize: z.number(),
      role: z.object({ stage: StageNameSchema, step: z.enum(['run', 'degrade']) }).optional(),
    }),
  ),
  taskDefinitions: z.array(z.object({ ...Named, family: z.string(), stage: ContainerStageSchema })),
  tables: z.array(
    z.object({
      logicalId: z.string(),
      name: z.string(),
      KeySchema: z.array(z.unknown()),
      AttributeDefinitions: z.array(z.unknown()),
    }),
  ),
  buckets: z.array(z.string()),
});

/**
 * The cached definition when the file is whole, of this format, built from these sources, and
 * every handler entry stays inside functions/; anything else reads as a miss (and is rebuilt).
 */
export function readCachedDefinition(file: string, sourceHash: string): LocalDefinition | undefined {
  try {
    const parsed = CachedDefinition.safeParse(JSON.parse(readFileSync(file, 'utf8')));
    if (!parsed.success || parsed.data.sourceHash !== sourceHash) return undefined;
    return parsed.data as unknown as LocalDefinition;
  } catch {
    return undefined;
  }
}

/** Everything the synthesized result depends on: infra/ and functions/ sources, the lockfile, the context. */
export function hashSources(context: Record<string, string> = {}): string {
  const hash = createHash('sha256');
  hash.update(JSON.stringify({ format: CACHE_FORMAT, context: sortKeys(context) }));
  const files = ['infra', 'functions'].flatMap((dir) => listFiles(join(REPO_ROOT, dir)));
  files.push(join(REPO_ROOT, 'package-lock.json'));
  for (const file of files.sort()) {
    hash.update(relative(REPO_ROOT, file));
    hash.update('\0');
    hash.update(readFileSync(file));
    hash.update('\0');
  }
  return hash.digest('hex');
}

function listFiles(dir: string): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name.startsWith('.') || entry.name === 'cdk.out') continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...listFiles(path));
    else if (entry.isFile()) files.push(path);
  }
  return files;
}

function sortKeys(record: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => a.localeCompare(b)));
}
