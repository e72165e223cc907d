// The one definition of a payload's size, checked against the golden vectors pytest checks too.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { jsonSize, MAX_TASK_TOKEN_LENGTH, TRANSPORTS, transportSize } from '#contracts/transports';

const GOLDEN = JSON.parse(
  readFileSync(new URL('../../stage-images/worker/tests/golden/payload-size.json', import.meta.url), 'utf8'),
) as { cases: { name: string; value: unknown; bytes: number }[] };

describe('jsonSize', () => {
  it.each(GOLDEN.cases.map((c) => [c.name, c] as const))('measures %s as the golden vector says', (_n, c) => {
    expect(jsonSize(c.value)).toBe(c.bytes);
  });

  it('counts non-ASCII text in UTF-8 bytes, not in escapes or UTF-16 units', () => {
    expect(jsonSize({ p: 'é' })).toBe('{"p":""}'.length + 2);
    expect(jsonSize({ p: '🦊' })).toBe('{"p":""}'.length + 4);
  });
});

describe('transportSize', () => {
  const ref = { inline: '<svg fill="#f00"/>', encoding: 'utf8', mediaType: 'image/svg+xml', bytes: 18 };

  it('counts the longest task token in every backend request', () => {
    for (const backend of ['pool', 'task', 'batch'] as const) {
      const withToken = jsonSize(TRANSPORTS[backend].request(ref, 't'.repeat(MAX_TASK_TOKEN_LENGTH)));
      expect(transportSize(backend, ref)).toBe(withToken);
      expect(withToken - jsonSize(TRANSPORTS[backend].request(ref, ''))).toBe(MAX_TASK_TOKEN_LENGTH);
    }
  });

  it('counts the escaping of a ref carried as an environment variable string', () => {
    const escapes = (JSON.stringify(ref).match(/"/g) ?? []).length;
    const task = jsonSize(TRANSPORTS.task.request(ref, ''));
    const bare = jsonSize(TRANSPORTS.task.request('', ''));
    expect(task - bare).toBe(jsonSize(ref) + escapes - 2);
  });
});
