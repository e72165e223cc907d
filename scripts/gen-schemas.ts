// Every artifact generated from functions/contracts for the other sides: the JSON Schemas the
// Python workers validate against and the tier table their benchmarks read. `npm run schemas`
// rewrites them; test/unit/generated.test.ts regenerates them in memory and fails when a
// committed copy is stale.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import {
  DetailConfig,
  OptimizeConfig,
  PayloadRef,
  PipelinePlan,
  StageFailure,
  StageInput,
  StageOutput,
} from '#contracts/schemas';
import { TIER_ORDER, TIERS } from '#contracts/tiers';

/** Where the generated files live, relative to the repository root. */
export const GENERATED_DIR = 'stage-images/worker/chat2svg_worker/schemas';

export const SCHEMAS = {
  'payload-ref': PayloadRef,
  'stage-input': StageInput,
  'stage-output': StageOutput,
  'stage-failure': StageFailure,
  'pipeline-plan': PipelinePlan,
  'detail-config': DetailConfig,
  'optimize-config': OptimizeConfig,
} as const;

export function schemaText(name: keyof typeof SCHEMAS): string {
  const schema = z.toJSONSchema(SCHEMAS[name], { target: 'draft-2020-12', io: 'input' });
  return `${JSON.stringify({ ...schema, $id: `chat2svg/${name}.schema.json`, title: name }, null, 2)}\n`;
}

/** Every generated file: repository-relative path ⇒ content. */
export function generatedFiles(): Record<string, string> {
  const files: Record<string, string> = {};
  for (const name of Object.keys(SCHEMAS) as (keyof typeof SCHEMAS)[]) {
    files[`${GENERATED_DIR}/${name}.schema.json`] = schemaText(name);
  }
  files[`${GENERATED_DIR}/tiers.json`] = `${JSON.stringify(
    { $comment: 'generated from functions/contracts/tiers.ts', order: TIER_ORDER, tiers: TIERS },
    null,
    2,
  )}\n`;
  return files;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const [path, text] of Object.entries(generatedFiles())) {
    writeFileSync(new URL(`../${path}`, import.meta.url), text);
  }
}
