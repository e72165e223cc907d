// Shared helpers for the local-runtime tests: one synthesized definition per CDK context, cached
// across test files and runs (synthesis costs seconds), and runtimes on ephemeral emulator state.
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Resvg } from '@resvg/resvg-js';
import { type LocalDefinition, loadDefinition } from '#local/definition';
import { createLocalRuntime, type LocalRuntime, type LocalRuntimeOptions } from '#local/runtime';
import { type ServeHandle, type StartServeOptions, startServe } from '#local/serve/serve';

/** Stand-in detail/optimize workers with the run-local contract (fake-stage.cjs). */
export const FAKE_STAGES_DIR = fileURLToPath(new URL('./stages/', import.meta.url));

/** Long enough for a cold synth on a busy two-core machine. */
export const SYNTH_TIMEOUT_MS = 300_000;

export function testDefinition(context: Record<string, string> = {}): Promise<LocalDefinition> {
  const key = createHash('sha256').update(JSON.stringify(context)).digest('hex').slice(0, 12);
  return loadDefinition({ cacheDir: join(tmpdir(), 'chat2svg-test-definitions', key), context });
}

export async function startTestRuntime(options: LocalRuntimeOptions = {}): Promise<LocalRuntime> {
  return createLocalRuntime({
    ephemeral: true,
    ...options,
    definition: options.definition ?? (await testDefinition(options.context)),
  });
}

/** `chat2svg serve` on a free loopback port, ephemeral state, warm stand-in workers for both GPU stages. */
export async function startTestServe(
  options: StartServeOptions & { perStage?: number } = {},
): Promise<ServeHandle> {
  const { perStage = 1, ...rest } = options;
  return startServe({
    port: 0,
    ephemeral: true,
    capabilities: ['detail', 'optimize'],
    stagesDir: FAKE_STAGES_DIR,
    workers: { mode: 'pool', perStage },
    ...rest,
    definition: rest.definition ?? (await testDefinition()),
  });
}

/** Whether resvg parses and renders the SVG to a non-empty image. */
export function rendersAsSvg(svg: string): boolean {
  if (!svg.trimStart().startsWith('<svg')) return false;
  try {
    const image = new Resvg(svg).render();
    return image.width > 0 && image.height > 0;
  } catch {
    return false;
  }
}
