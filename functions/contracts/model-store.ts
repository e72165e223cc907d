// Where published model weights live (docs/architecture.md, "Model store"): one S3 prefix per
// environment, one folder per stage, its manifest.json written last by scripts/publish-models.
// Python reads the same layout in chat2svg_worker/model_store.py.
import type { ContainerStageName } from './schemas.ts';

export const MODEL_STORE_PREFIX = 'models/';

/** Container stages that cannot run until their weights are published; optimize needs none. */
export const STAGES_WITH_MODELS: readonly ContainerStageName[] = ['detail'];

/** Environment variable that tells a GPU worker where the store is (`s3://bucket/models/`). */
export const MODEL_STORE_ENV = 'MODEL_STORE_URI';

export function manifestKey(stage: ContainerStageName, prefix = MODEL_STORE_PREFIX): string {
  return `${prefix}${stage}/manifest.json`;
}
