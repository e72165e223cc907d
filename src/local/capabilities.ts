// Which container stages this machine can run (docs/architecture.md §10): the local runtime passes them
// to the handlers as STAGE_CAPABILITIES, and the CLI says why the others are missing.
import { accessSync, constants, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
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
    // The layout of stage-images/detail/fetch-models and tiny-models: a manifest and one folder per model.
    for (const file of ['models.json', 'sdxl/model_index.json', 'sam/config.json'])
      if (!existsSync(join(modelDir, file))) return `MODEL_DIR ${modelDir} holds no ${file}`;
  }
  return undefined;
}

function findSitePackages(venv: string): string | undefined {
  const lib = join(venv, 'lib');
  if (!existsSync(join(venv, 'bin', 'python')) || !existsSync(lib)) return undefined;
  const python = readdirSync(lib).find((entry) => entry.startsWith('python'));
  const dir = python && join(lib, python, 'site-packages');
  return dir && existsSync(dir) ? dir : undefined;
}
