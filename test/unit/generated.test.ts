// Generated artifacts are regenerated in memory on every test run: a committed copy that no longer
// matches its source in functions/contracts fails here (fix: `npm run schemas`).
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { GENERATED_DIR, generatedFiles } from '../../scripts/gen-schemas.ts';

const root = new URL('../../', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), 'utf8');

describe('generated artifacts', () => {
  it.each(Object.entries(generatedFiles()))('%s matches its source (npm run schemas)', (path, text) => {
    expect(read(path), `${path} is stale: run npm run schemas`).toBe(text);
  });

  it('leaves no file in the generated folder that nothing generates', () => {
    const generated = Object.keys(generatedFiles()).map((path) => path.slice(GENERATED_DIR.length + 1));
    expect(readdirSync(new URL(GENERATED_DIR, root)).sort()).toEqual(generated.sort());
  });
});
