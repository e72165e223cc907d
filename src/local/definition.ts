// The deployable state machine, made runnable here: synthesized in-process from infra/ (bundling
// off), its tokens resolved to local names, each Lambda mapped to its handler module and each task
// definition to its stage. Cached under <home>/definition.json until infra/, functions/ or the
// lockfile change, since synthesis costs seconds and a CLI run should not pay for it each time.
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AttributeDefinition, KeySchemaElement } from '@aws-sdk/client-dynamodb';
import {
  type ContainerStageName,
  ContainerStageName as ContainerStageSchema,
  type StageName,
  StageName as StageNameSchema,
} from '#contracts/schemas';
import type { AslDefinition, CfnTemplate, ResolveRef } from '#infra/definition';
import { ENTRY_METADATA_KEY, ROLE_METADATA_KEY, STAGE_METADATA_KEY, type StageStep } from '#infra/metadata';
import { defaultHome } from './emulators.ts';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Bump when the shape of LocalDefinition changes, so old cache files are ignored. */
const CACHE_FORMAT = 3;

export interface LocalFunction {
  readonly logicalId: string;
  /** Function name (what `Ref` resolves to). */
  readonly name: string;
  readonly arn: string;
  /** Repository-relative handler module, e.g. `functions/normalize-request.ts`. */
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
  /** Where definition.json is cached. @default $CHAT2SVG_HOME or ./.chat2svg */
  readonly home?: string;
  /** CDK context for the synth (e.g. `{ env: 'dev' }`); part of the cache key. @default {} */
  readonly context?: Record<string, string>;
  /** Read and write the cache file. @default true */
  readonly cache?: boolean;
}

export async function loadDefinition(options: LoadDefinitionOptions = {}): Promise<LocalDefinition> {
  const context = options.context ?? {};
  const sourceHash = hashSources(context);
  const cacheFile = join(options.home ?? defaultHome(), 'definition.json');
  if (options.cache !== false) {
    const cached = readCache(cacheFile);
    if (cached?.format === CACHE_FORMAT && cached.sourceHash === sourceHash) return cached;
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
  const pipeline = infra.synthesizePipeline({ context });
  const synthMs = Math.round(performance.now() - started);
  const { template } = pipeline;
  const resolveRef = infra.localResolveRef(template);
  const definition = infra.resolveDefinition(pipeline, resolveRef);
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
  const pipeline = infra.synthesizePipeline({ context });
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

function readCache(file: string): LocalDefinition | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as LocalDefinition;
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
