// Writes schemas/*.schema.json from the zod contracts; the Python workers validate against them.
// `npm run schemas` rewrites them; test/unit/schemas.test.ts fails when they are stale.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { PayloadRef, PipelinePlan, StageFailure, StageInput, StageOutput } from '#contracts/schemas';

export const SCHEMAS = {
  'payload-ref': PayloadRef,
  'stage-input': StageInput,
  'stage-output': StageOutput,
  'stage-failure': StageFailure,
  'pipeline-plan': PipelinePlan,
} as const;

export function schemaText(name: keyof typeof SCHEMAS): string {
  const schema = z.toJSONSchema(SCHEMAS[name], { target: 'draft-2020-12', io: 'input' });
  return `${JSON.stringify({ ...schema, $id: `chat2svg/${name}.schema.json`, title: name }, null, 2)}\n`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const name of Object.keys(SCHEMAS) as (keyof typeof SCHEMAS)[]) {
    writeFileSync(
      new URL(`../stage-images/worker/chat2svg_worker/schemas/${name}.schema.json`, import.meta.url),
      schemaText(name),
    );
  }
}
