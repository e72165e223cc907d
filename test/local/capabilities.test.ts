// The detail stage's MODEL_DIR layout comes from stage-images/detail/models.json, which
// chat2svg_detail/models.py reads too.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { missingModelFile } from '#local/capabilities';
import { REPO_ROOT } from '#local/definition';

const PINNED = join(REPO_ROOT, 'stage-images', 'detail', 'models.json');
const pinned = JSON.parse(readFileSync(PINNED, 'utf8')).components as Record<
  string,
  { dir: string; required: string[]; optional?: boolean }
>;

/** A MODEL_DIR with an empty file for every required pattern (`*` filled in). */
function modelDir(): string {
  const root = mkdtempSync(join(tmpdir(), 'chat2svg-models-'));
  writeFileSync(join(root, 'models.json'), '{}');
  for (const component of Object.values(pinned)) {
    for (const pattern of component.required) {
      const file = join(root, component.dir, pattern.replaceAll('*', 'model.fp16'));
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, '');
    }
  }
  return root;
}

describe('missingModelFile', () => {
  it('finds a MODEL_DIR with every required file complete, wildcards included', () => {
    expect(missingModelFile(modelDir(), PINNED)).toBeUndefined();
  });

  it('names the first required file that is missing', () => {
    const root = modelDir();
    rmSync(join(root, 'sdxl', 'unet', 'model.fp16.safetensors'));

    expect(missingModelFile(root, PINNED)).toMatch(/holds no sdxl sdxl\/unet\/\*\.safetensors$/);
  });

  it('does not ask for an optional component', () => {
    const root = modelDir();
    rmSync(join(root, 'controlnet-tile'), { recursive: true });

    expect(missingModelFile(root, PINNED)).toBeUndefined();
  });

  it('needs the MODEL_DIR manifest', () => {
    const root = modelDir();
    rmSync(join(root, 'models.json'));

    expect(missingModelFile(root, PINNED)).toMatch(/holds no models\.json/);
  });
});
