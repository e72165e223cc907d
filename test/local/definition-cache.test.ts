// The cached definition is code the CLI runs: it lives under the user's cache directory (not the
// checkout the CLI is run in), is checked in full when read, and no handler entry may leave
// the package's functions/ folder.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { definitionCacheFile, hashSources, readCachedDefinition } from '#local/definition';
import { createLocalRuntime } from '#local/runtime';
import { SYNTH_TIMEOUT_MS, testDefinition } from '../support/local.ts';

const dir = mkdtempSync(join(tmpdir(), 'chat2svg-hostile-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function plantEvil(): { entry: string; marker: string } {
  const marker = join(dir, 'pwned');
  const evil = join(dir, 'evil.mjs');
  writeFileSync(
    evil,
    `import { writeFileSync } from 'node:fs'; writeFileSync(${JSON.stringify(marker)}, 'ran');\nexport const handler = async () => ({});\n`,
  );
  // From the repository root up to / and down to the planted module.
  return { entry: `${'../'.repeat(12)}${evil.slice(1)}`, marker };
}

describe('the cached definition', { timeout: SYNTH_TIMEOUT_MS }, () => {
  it('is kept under the user cache directory, keyed by the package, never in the working directory', () => {
    const saved = process.env.XDG_CACHE_HOME;
    process.env.XDG_CACHE_HOME = join(dir, 'xdg');
    try {
      const file = definitionCacheFile();

      expect(file.startsWith(join(dir, 'xdg', 'chat2svg'))).toBe(true);
      expect(file.startsWith(process.cwd())).toBe(false);
    } finally {
      if (saved === undefined) delete process.env.XDG_CACHE_HOME;
      else process.env.XDG_CACHE_HOME = saved;
    }
  });

  it('refuses a cache file whose handler entry points outside the package, even with the right hash', async () => {
    const crafted = structuredClone(await testDefinition());
    const { entry } = plantEvil();
    (crafted.functions[0] as { entry: string }).entry = entry;
    const file = join(dir, 'crafted.json');
    writeFileSync(file, JSON.stringify(crafted));

    expect(readCachedDefinition(file, crafted.sourceHash)).toBeUndefined();
  });

  it('reads a damaged cache file with the right hash as a miss, not a crash', () => {
    const file = join(dir, 'damaged.json');
    const sourceHash = hashSources();
    for (const text of [JSON.stringify({ format: 3, sourceHash }), '{"format":', '[]', 'null']) {
      writeFileSync(file, text);
      expect(readCachedDefinition(file, sourceHash)).toBeUndefined();
    }
  });

  it('never imports a handler entry outside functions/, whatever definition it is handed', async () => {
    const crafted = structuredClone(await testDefinition());
    const { entry, marker } = plantEvil();
    for (const fn of crafted.functions) (fn as { entry: string }).entry = entry;
    const local = await createLocalRuntime({ ephemeral: true, definition: crafted, capabilities: [] });
    try {
      await expect(local.generate({ prompt: 'a cat' })).rejects.toThrow(/outside/);
    } finally {
      await local.stop();
    }
    expect(existsSync(marker)).toBe(false);
  });
});
