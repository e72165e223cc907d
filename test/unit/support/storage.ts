// Real local storage for handler tests: the local runtime's embedded dynalite and s3rver, the
// project's three tables and payload bucket, and the clients a handler factory takes.
import { DeleteItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll } from 'vitest';
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

/** Storage for the tests of one file: started before the first, stopped after the last. */
export function useStorage(): Storage {
  const storage = {} as Storage;
  beforeAll(async () => {
    Object.assign(storage, await startStorage());
  });
  afterAll(async () => {
    await storage.stop?.();
  });
  return storage;
}

/** Removes these items from the signals table, so a test starts without them. */
export async function deleteSignals(storage: Storage, names: readonly string[]): Promise<void> {
  for (const name of names)
    await storage.emulators.dynamodb.send(
      new DeleteItemCommand({ TableName: TABLES.signals, Key: { name: { S: name } } }),
    );
}
