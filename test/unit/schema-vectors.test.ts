// The shared contract vectors (stage-images/worker/tests/vectors/<schema>/{valid,invalid}/*.json):
// pytest judges them with the generated JSON Schemas, this test with the zod schemas they come from.
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { PayloadRef, StageFailure, StageInput, StageOutput } from '#contracts/schemas';

const VECTORS = new URL('../../stage-images/worker/tests/vectors/', import.meta.url);
const SCHEMAS: Record<string, z.ZodType> = {
  'payload-ref': PayloadRef,
  'stage-input': StageInput,
  'stage-output': StageOutput,
  'stage-failure': StageFailure,
};

function vectors(schema: string, kind: 'valid' | 'invalid'): [string, unknown][] {
  const dir = new URL(`${schema}/${kind}/`, VECTORS);
  return readdirSync(dir)
    .filter((file) => file.endsWith('.json'))
    .map((file) => [file, JSON.parse(readFileSync(new URL(file, dir), 'utf8'))]);
}

describe.each(Object.keys(SCHEMAS))('%s vectors', (schema) => {
  it.each(vectors(schema, 'valid'))('accepts valid/%s', (_file, doc) => {
    const result = SCHEMAS[schema].safeParse(structuredClone(doc));
    expect(result.error?.issues).toBeUndefined();
  });

  it.each(vectors(schema, 'invalid'))('rejects invalid/%s', (_file, doc) => {
    expect(SCHEMAS[schema].safeParse(structuredClone(doc)).success).toBe(false);
  });
});

it('has vectors for every schema the workers validate', () => {
  expect(readdirSync(VECTORS).sort()).toEqual(Object.keys(SCHEMAS).sort());
});
