// Real local storage for handler tests: the local runtime's embedded dynalite and s3rver, the
// project's two tables and payload bucket, and the environment the handlers read at import.
import { type Emulators, startEmulators } from '#local/emulators';

export const TABLES = { breakers: 'test-breakers', cache: 'test-cache' } as const;
export const BUCKET = 'test-payloads';

export interface Storage {
  emulators: Emulators;
  stop(): Promise<void>;
}

/** Starts the emulators and sets process.env (plus `extraEnv`) before any handler is imported. */
export async function startStorage(extraEnv: Record<string, string> = {}): Promise<Storage> {
  const emulators = await startEmulators({ ephemeral: true });
  await emulators.ensureTable(TABLES.breakers, {
    KeySchema: [{ AttributeName: 'stage', KeyType: 'HASH' }],
    AttributeDefinitions: [{ AttributeName: 'stage', AttributeType: 'S' }],
  });
  await emulators.ensureTable(TABLES.cache, {
    KeySchema: [{ AttributeName: 'cacheKey', KeyType: 'HASH' }],
    AttributeDefinitions: [{ AttributeName: 'cacheKey', AttributeType: 'S' }],
  });
  await emulators.ensureBucket(BUCKET);
  Object.assign(process.env, emulators.env, {
    BREAKERS_TABLE: TABLES.breakers,
    CACHE_TABLE: TABLES.cache,
    PAYLOAD_BUCKET: BUCKET,
    LOG_LEVEL: 'silent',
    ...extraEnv,
  });
  return { emulators, stop: () => emulators.stop() };
}
