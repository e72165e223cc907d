// Which container stages this machine can run (docs/architecture.md §10): the local runtime passes them
// to the handlers as STAGE_CAPABILITIES, and the CLI says why the others are missing.
import { accessSync, constants, existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { CONTAINER_STAGES, type ContainerStageName } from '#contracts/schemas';
import { REPO_ROOT } from './definition.ts';

export interface Capabilities {
  readonly stages: ContainerStageName[];
  /** Why each missing stage cannot run here. */
  readonly missing: Partial<Record<ContainerStageName, string>>;
}

/**
 * Which container stages this machine can run, judged by files only (importing torch to find out
 * would cost seconds): the venv, the stage package installed in it, and for detail the weights.
 */
export function detectCapabilities(root = REPO_ROOT, env: NodeJS.ProcessEnv = process.env): Capabilities {
  const stages: ContainerStageName[] = [];
  const missing: Partial<Record<ContainerStageName, string>> = {};
  const sitePackages = findSitePackages(join(root, '.venv'));
  const installed = sitePackages ? readdirSync(sitePackages) : undefined;
  for (const stage of CONTAINER_STAGES) {
    const reason = stageMissing(stage, root, installed, env);
    if (reason) missing[stage] = reason;
    else stages.push(stage);
  }
  return { stages, missing };
}

function stageMissing(
  stage: ContainerStageName,
  root: string,
  installed: readonly string[] | undefined,
  env: NodeJS.ProcessEnv,
): string | undefined {
  if (!installed) return 'no Python venv at .venv';
  try {
    accessSync(join(root, 'stage-images', stage, 'run-local'), constants.X_OK);
  } catch {
    return `stage-images/${stage}/run-local is missing or not executable`;
  }
  const pkg = `chat2svg_${stage}`;
  const hasPackage = installed.some(
    (entry) => entry === pkg || (entry.startsWith(`${pkg}-`) && entry.endsWith('.dist-info')),
  );
  if (!hasPackage) return `${pkg} is not installed in .venv`;
  if (!installed.includes('torch')) return 'torch is not installed in .venv';
  if (stage === 'detail') {
    const modelDir = env.MODEL_DIR;
    if (!modelDir) return 'MODEL_DIR is not set (no SDXL/SAM weights)';
    return missingModelFile(modelDir, join(root, 'stage-images', 'detail', 'models.json'));
  }
  return undefined;
}

interface PinnedComponent {
  dir: string;
  required: string[];
  optional?: boolean;
}

/**
 * The first file the pinned manifest's `required` layout (stage-images/detail/models.json, also read
 * by chat2svg_detail/models.py) finds missing in `modelDir`, as a reason; undefined when complete.
 */
export function missingModelFile(modelDir: string, pinnedManifest: string): string | undefined {
  if (!existsSync(join(modelDir, 'models.json'))) return `MODEL_DIR ${modelDir} holds no models.json`;
  const pinned = JSON.parse(readFileSync(pinnedManifest, 'utf8')).components as Record<
    string,
    PinnedComponent
  >;
  for (const [name, component] of Object.entries(pinned)) {
    if (component.optional) continue;
    for (const pattern of component.required) {
      const path = join(modelDir, component.dir, pattern);
      if (!matchesFile(path)) return `MODEL_DIR ${modelDir} holds no ${name} ${join(component.dir, pattern)}`;
    }
  }
  return undefined;
}

/** Whether a file matches `path`, whose last segment may hold `*` wildcards. */
function matchesFile(path: string): boolean {
  const name = basename(path);
  if (!name.includes('*')) return existsSync(path);
  const dir = dirname(path);
  if (!existsSync(dir)) return false;
  const pattern = new RegExp(`^${name.split('*').map(escapeRegExp).join('.*')}$`);
  return readdirSync(dir).some((entry) => pattern.test(entry));
}

function escapeRegExp(text: string): string {
  return text.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
}

function findSitePackages(venv: string): string | undefined {
  const lib = join(venv, 'lib');
  if (!existsSync(join(venv, 'bin', 'python')) || !existsSync(lib)) return undefined;
  const python = readdirSync(lib).find((entry) => entry.startsWith('python'));
  const dir = python && join(lib, python, 'site-packages');
  return dir && existsSync(dir) ? dir : undefined;
}
