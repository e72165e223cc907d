// One request schema, two validators: the API Gateway model (JSON Schema draft 4, generated from
// the zod schema) and Normalize must accept and refuse the same bodies.
import AjvDraft04 from 'ajv-draft-04';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { invocationContext } from '#commons/lambda';
import { generationRequestJsonSchema } from '#contracts/schemas';
import { configFromEnv, makeHandler } from '#functions/normalize-request/handler';

const normalize = makeHandler(configFromEnv({}));
const logic = (event: unknown) => normalize(event, invocationContext());
const apiAccepts = new AjvDraft04.default({ strict: false }).compile(generationRequestJsonSchema());
async function normalizeAccepts(body: unknown): Promise<boolean> {
  try {
    await logic(body);
    return true;
  } catch (error) {
    expect((error as Error).name).toBe('Request.Invalid');
    return false;
  }
}

const BODIES: [string, unknown, boolean][] = [
  ['a plain prompt', { prompt: 'a red fox' }, true],
  ['a whitespace-only prompt', { prompt: ' \t\n ' }, false],
  ['an empty prompt', { prompt: '' }, false],
  ['a 2000-character prompt with surrounding spaces', { prompt: `  ${'a'.repeat(2000)}  ` }, true],
  ['a 2001-character prompt', { prompt: 'a'.repeat(2001) }, false],
  ['a style of 300 spaces', { prompt: 'a fox', style: ' '.repeat(300) }, true],
  ['a 201-character style', { prompt: 'a fox', style: 's'.repeat(201) }, false],
  ['a NUL in the prompt', { prompt: 'a\u0000fox' }, false],
  ['a bell in the style', { prompt: 'a fox', style: 'flat\u0007' }, false],
  ['a C1 control in the prompt', { prompt: 'a\u0085fox' }, false],
  ['a multi-line prompt', { prompt: 'a fox\nin the snow' }, true],
  ['a non-Latin prompt', { prompt: '一只红色的狐狸' }, true],
  ['a negative seed', { prompt: 'a fox', seed: -1 }, false],
  ['an unknown key', { prompt: 'a fox', colour: 'red' }, false],
  ['an unknown tier', { prompt: 'a fox', tier: 'ultra' }, false],
];

describe('the generation request schema', () => {
  it.each(BODIES)('agrees between the API model and Normalize on %s', async (_name, body, accepted) => {
    expect({ api: apiAccepts(body), normalize: await normalizeAccepts(body) }).toEqual({
      api: accepted,
      normalize: accepted,
    });
  });

  it('agrees between the API model and Normalize on any body (property)', async () => {
    const text = fc.oneof(
      fc.string({ maxLength: 40, unit: 'binary' }),
      fc.string({ maxLength: 5 }).map((s) => ` \t${s}\n `),
      fc.constantFrom(
        '',
        ' ',
        '\u0000',
        '\u00a0',
        '\u3000',
        'a\u007f',
        'x'.repeat(2000),
        ` ${'y'.repeat(1999)}  `,
      ),
    );
    const body = fc.record(
      {
        prompt: text,
        style: text,
        tier: fc.constantFrom('auto', 'high', 'low', 'ultra'),
        seed: fc.oneof(fc.integer(), fc.double()),
        llm: fc.constantFrom('offline', 'anthropic', 'gpt'),
        extra: fc.string(),
      },
      { requiredKeys: [] },
    );
    await fc.assert(
      fc.asyncProperty(body, async (candidate) => {
        expect(apiAccepts(candidate)).toBe(await normalizeAccepts(candidate));
      }),
      { numRuns: 300 },
    );
  });
});
