// Real local storage for handler tests: the local runtime's embedded dynalite and s3rver, the
// project's three tables and payload bucket, and the clients a handler factory takes.
import type { HandlerDeps } from '#commons/clients';
import { type Emulators, startEmulators } from '#local/emulators';

export const TABLES = { breakers: 'test-breakers', cache: 'test-cache', signals: 'test-signals' } as const;
export const BUCKET = 'test-payloads';

export interface Storage {
  emulators: Emulators;
  /** The emulators' clients, for `makeHandler(config, storage.deps)`. */
  deps: HandlerDeps;
  stop(): Promise<void>;
}

export async function startStorage(): Promise<Storage> {
  const emulators = await startEmulators({ ephemeral: true });
  await emulators.ensureTable(TABLES.breakers, {
    KeySchema: [{ AttributeName: 'stage', KeyType: 'HASH' }],
    AttributeDefinitions: [{ AttributeName: 'stage', AttributeType: 'S' }],
  });
  await emulators.ensureTable(TABLES.cache, {
    KeySchema: [{ AttributeName: 'cacheKey', KeyType: 'HASH' }],
    AttributeDefinitions: [{ AttributeName: 'cacheKey', AttributeType: 'S' }],
  });
  await emulators.ensureTable(TABLES.signals, {
    KeySchema: [{ AttributeName: 'name', KeyType: 'HASH' }],
    AttributeDefinitions: [{ AttributeName: 'name', AttributeType: 'S' }],
  });
  await emulators.ensureBucket(BUCKET);
  const { dynamodb, s3, events } = emulators;
  return { emulators, deps: { clients: { dynamodb, s3, events } }, stop: () => emulators.stop() };
}
