// Embedded AWS emulators for the local runtime (docs/architecture.md §10): dynalite for DynamoDB and
// s3rver for S3, started in-process on 127.0.0.1, state under <home>/ unless ephemeral, each behind
// a fault-injecting proxy (faults.ts) that every client reaches them through; and an EventBridge
// sink that appends PutEvents entries to <home>/events.jsonl.

import { randomBytes, randomUUID } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  type AttributeDefinition,
  CreateTableCommand,
  DynamoDBClient,
  type KeySchemaElement,
  ListTablesCommand,
  ResourceInUseException,
} from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { CreateBucketCommand, ListBucketsCommand, S3Client } from '@aws-sdk/client-s3';
import dynalite from 'dynalite';
import S3rver from 's3rver';
import AWSAccount from 's3rver/lib/models/account.js';
import { type EmulatorFaults, emptyFaults, faultProxy } from './faults.ts';
import { acquireHomeLock, type HomeLock } from './home-lock.ts';

export const LOCAL_REGION = 'us-east-1';
export const LOCAL_ACCOUNT = '000000000000';

/** The subset of AWS::DynamoDB::Table properties a local table needs. */
export interface TableProperties {
  readonly KeySchema: KeySchemaElement[];
  readonly AttributeDefinitions: AttributeDefinition[];
}

export interface EmulatorOptions {
  /** State directory. @default $CHAT2SVG_HOME or ./.chat2svg */
  readonly home?: string;
  /** Keep all state in memory / a temporary directory removed on stop(). @default false */
  readonly ephemeral?: boolean;
  /** Called once when another run holds the home and this one waits for it. @default none */
  readonly onWait?: (message: string) => void;
}

/** Local state that cannot be opened; `chat2svg doctor` repairs it. */
export class HomeDamagedError extends Error {
  constructor(what: string, cause: string) {
    super(
      `${what} cannot be opened (${cause.split('\n')[0].slice(0, 160)}); run "chat2svg doctor" to repair it`,
    );
    this.name = 'Home.Damaged';
  }
}

export interface Emulators {
  readonly home: string;
  readonly dynamodbEndpoint: string;
  readonly s3Endpoint: string;
  readonly eventsEndpoint: string;
  /** Where PutEvents entries land, one JSON object a line. */
  readonly eventsFile: string;
  readonly dynamodb: DynamoDBClient;
  readonly s3: S3Client;
  /**
   * This start's own key pair. The emulators listen on 127.0.0.1, where any user of the machine
   * can connect: they answer only requests signed with this key id (or one allowed below).
   */
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string };
  /** Also accept this key id (the developer's own credentials, for a Bedrock run). */
  allowAccessKey(accessKeyId: string): void;
  readonly events: EventBridgeClient;
  /** Environment for code that builds its own SDK clients (Lambda handlers, run-local workers). */
  readonly env: Record<string, string>;
  /** Faults injected into DynamoDB and S3 calls; no rules, no faults. */
  readonly faults: EmulatorFaults;
  ensureTable(name: string, props: TableProperties): Promise<void>;
  ensureBucket(name: string): Promise<void>;
  /** Creates the tables and buckets this home lacks: one listing each, then only what is missing. */
  ensureStores(
    tables: readonly (TableProperties & { name: string })[],
    buckets: readonly string[],
  ): Promise<void>;
  stop(): Promise<void>;
}

export function defaultHome(): string {
  return resolve(process.env.CHAT2SVG_HOME || '.chat2svg');
}

export async function startEmulators(options: EmulatorOptions = {}): Promise<Emulators> {
  const ephemeral = options.ephemeral ?? false;
  const home = ephemeral ? mkdtempSync(join(tmpdir(), 'chat2svg-')) : resolve(options.home ?? defaultHome());
  let lock: HomeLock | undefined;
  if (!ephemeral) {
    mkdirSync(home, { recursive: true });
    lock = await acquireHomeLock(home, {
      onWait: (holder) =>
        options.onWait?.(
          `waiting for ${home}: in use by ${holder ? `process ${holder.pid}` : 'another run'}; this run starts when it is done`,
        ),
    });
  }
  try {
    await checkState(home, ephemeral);
  } catch (error) {
    lock?.release();
    throw error;
  }

  const credentials = {
    accessKeyId: `LOCAL${randomBytes(8).toString('hex').toUpperCase()}`,
    secretAccessKey: randomBytes(24).toString('base64url'),
  };
  const allowedKeys = new Set([credentials.accessKeyId]);
  const allows = (keyId: string | undefined) => keyId !== undefined && allowedKeys.has(keyId);

  // createTableMs 0: tables are ACTIVE at once, so a first run need not poll DescribeTable.
  const dynamo = dynalite({
    path: ephemeral ? undefined : join(home, 'dynamodb'),
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
  });
  guard(dynamo, allows);
  const dynamoPort = await listen(dynamo);
  acceptAnyAccessKey();
  const s3rver = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory: join(home, 's3'),
    // Only path-style requests reach an IP endpoint; vhost parsing would misread the host.
    vhostBuckets: false,
  });
  const s3Address = (await s3rver.run()) as AddressInfo;
  guard((s3rver as unknown as { httpServer: Server }).httpServer, allows);
  const eventsFile = join(home, 'events.jsonl');
  const eventSink = eventBridgeSink(eventsFile);
  guard(eventSink, allows);
  const eventsPort = await listen(eventSink);
  const faults = emptyFaults();
  const dynamoProxy = faultProxy('dynamodb', dynamoPort, faults);
  const s3Proxy = faultProxy('s3', s3Address.port, faults);

  const dynamodbEndpoint = `http://127.0.0.1:${await listen(dynamoProxy)}`;
  const s3Endpoint = `http://127.0.0.1:${await listen(s3Proxy)}`;
  const eventsEndpoint = `http://127.0.0.1:${eventsPort}`;
  const base = { region: LOCAL_REGION, credentials };
  const dynamodb = new DynamoDBClient({ ...base, endpoint: dynamodbEndpoint });
  const s3 = new S3Client({ ...base, endpoint: s3Endpoint, forcePathStyle: true });
  const events = new EventBridgeClient({ ...base, endpoint: eventsEndpoint });

  const ensureTable = async (name: string, props: TableProperties) => {
    try {
      await dynamodb.send(
        new CreateTableCommand({
          TableName: name,
          KeySchema: props.KeySchema,
          AttributeDefinitions: props.AttributeDefinitions,
          BillingMode: 'PAY_PER_REQUEST',
        }),
      );
    } catch (error) {
      if (!(error instanceof ResourceInUseException)) throw error;
    }
  };
  const ensureBucket = async (name: string) => {
    try {
      await s3.send(new CreateBucketCommand({ Bucket: name }));
    } catch (error) {
      const code = (error as Error).name;
      if (code !== 'BucketAlreadyOwnedByYou' && code !== 'BucketAlreadyExists') throw error;
    }
  };

  return {
    home,
    dynamodbEndpoint,
    s3Endpoint,
    eventsEndpoint,
    eventsFile,
    dynamodb,
    s3,
    credentials,
    allowAccessKey: (accessKeyId) => {
      allowedKeys.add(accessKeyId);
    },
    faults,
    events,
    env: {
      AWS_REGION: LOCAL_REGION,
      AWS_DEFAULT_REGION: LOCAL_REGION,
      AWS_ACCESS_KEY_ID: credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      AWS_ENDPOINT_URL_DYNAMODB: dynamodbEndpoint,
      AWS_ENDPOINT_URL_S3: s3Endpoint,
      AWS_ENDPOINT_URL_EVENTBRIDGE: eventsEndpoint,
    },
    ensureTable,
    ensureBucket,
    async ensureStores(tables, buckets) {
      const [listed, owned] = await Promise.all([
        dynamodb.send(new ListTablesCommand({})),
        s3.send(new ListBucketsCommand({})),
      ]);
      const haveTables = new Set(listed.TableNames);
      const haveBuckets = new Set(owned.Buckets?.map((bucket) => bucket.Name));
      await Promise.all([
        ...tables
          .filter((table) => !haveTables.has(table.name))
          .map((table) => ensureTable(table.name, table)),
        ...buckets.filter((bucket) => !haveBuckets.has(bucket)).map((bucket) => ensureBucket(bucket)),
      ]);
    },
    async stop() {
      dynamodb.destroy();
      s3.destroy();
      await Promise.all([close(dynamoProxy), close(s3Proxy)]);
      events.destroy();
      await Promise.all([close(dynamo), s3rver.close(), close(eventSink)]);
      if (ephemeral) rmSync(home, { recursive: true, force: true });
      lock?.release();
    },
  };
}

// s3rver knows one key pair and (for SigV4) checks nothing but the key id. Each start has its own
// random key, and a Bedrock run also the developer's, so any key id maps to s3rver's single
// account; guard() in front of it decides which key ids get in at all.
function acceptAnyAccessKey(): void {
  // Imported, not required by path: the bundle (scripts/build-cli.mjs) holds s3rver's own instance.
  const registry: Map<string, unknown> = AWSAccount.registry;
  if ((registry as { acceptsAny?: boolean }).acceptsAny) return;
  const known = registry.get.bind(registry);
  registry.get = (accessKeyId: string) => known(accessKeyId) ?? AWSAccount.DUMMY_ACCOUNT;
  (registry as { acceptsAny?: boolean }).acceptsAny = true;
}

/**
 * Checks what dynalite and s3rver would otherwise trip over later with a stack trace: the LevelDB
 * store must open, the s3 directory and events file must be what they claim to be.
 */
async function checkState(home: string, ephemeral: boolean): Promise<void> {
  for (const [path, kind] of [
    [join(home, 's3'), 'directory'],
    ...(ephemeral ? [] : [[join(home, 'dynamodb'), 'directory']]),
    [join(home, 'events.jsonl'), 'file'],
  ] as const) {
    if (!existsSync(path)) continue;
    const isDirectory = statSync(path).isDirectory();
    if (isDirectory !== (kind === 'directory')) throw new HomeDamagedError(path, `not a ${kind}`);
  }
  mkdirSync(join(home, 's3'), { recursive: true });
  if (ephemeral) return;
  mkdirSync(join(home, 'dynamodb'), { recursive: true });
  const error = await openStore(join(home, 'dynamodb'));
  if (error) throw new HomeDamagedError(join(home, 'dynamodb'), error.message);
}

/** Opens and closes dynalite's LevelDB store; the error when it does not open. */
export async function openStore(path: string): Promise<Error | undefined> {
  const require = createRequire(createRequire(import.meta.url).resolve('dynalite'));
  const { Level } = require('level') as {
    Level: new (path: string) => { open(): Promise<void>; close(): Promise<void> };
  };
  const db = new Level(path);
  try {
    await db.open();
    await db.close();
    return undefined;
  } catch (error) {
    const cause = (error as Error & { cause?: Error }).cause;
    return new Error(cause?.message ?? (error as Error).message);
  }
}

/** The access key id a request is signed with: SigV4 header, presigned query, or SigV2 header. */
function accessKeyIdOf(req: IncomingMessage): string | undefined {
  const authorization = String(req.headers.authorization ?? '');
  const v4 = /Credential=([^/,\s]+)\//.exec(authorization);
  if (v4) return v4[1];
  const v2 = /^AWS ([^:\s]+):/.exec(authorization);
  if (v2) return v2[1];
  const query = new URL(req.url ?? '/', 'http://localhost').searchParams;
  return query.get('X-Amz-Credential')?.split('/')[0] ?? query.get('AWSAccessKeyId') ?? undefined;
}

/** Puts a key-id check in front of a server's own request handlers. */
function guard(server: Server, allows: (keyId: string | undefined) => boolean): void {
  const handlers = server.listeners('request') as ((req: IncomingMessage, res: ServerResponse) => void)[];
  server.removeAllListeners('request');
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (allows(accessKeyIdOf(req))) {
      for (const handler of handlers) handler.call(server, req, res);
      return;
    }
    req.resume();
    res.statusCode = 403;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ __type: 'AccessDeniedException', message: "not signed with this run's key" }));
  });
}

/** Accepts PutEvents (JSON 1.1) and records each entry; the only EventBridge call the pipeline makes. */
function eventBridgeSink(file: string): Server {
  return createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const target = String(req.headers['x-amz-target'] ?? '');
      res.setHeader('content-type', 'application/x-amz-json-1.1');
      const fail = (type: string, message: string) => {
        res.statusCode = 400;
        res.end(JSON.stringify({ __type: type, message }));
      };
      if (!target.endsWith('.PutEvents'))
        return fail('UnknownOperationException', `${target} is not emulated`);
      let entries: unknown;
      try {
        entries =
          (JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as { Entries?: unknown }).Entries ?? [];
      } catch {
        return fail('SerializationException', 'the body is not JSON');
      }
      if (!Array.isArray(entries) || entries.some((entry) => entry === null || typeof entry !== 'object')) {
        return fail('ValidationException', 'Entries must be a list of objects');
      }
      const time = new Date().toISOString();
      for (const entry of entries)
        appendFileSync(file, `${JSON.stringify({ time, ...(entry as object) })}\n`);
      res.end(
        JSON.stringify({ FailedEntryCount: 0, Entries: entries.map(() => ({ EventId: randomUUID() })) }),
      );
    });
  });
}

function listen(server: Server): Promise<number> {
  return new Promise((resolvePort, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolvePort((server.address() as AddressInfo).port);
    });
  });
}

function close(server: Server): Promise<void> {
  // Idle keep-alive sockets from the SDK would hold close() open until they time out.
  server.closeAllConnections?.();
  return new Promise((done, reject) => server.close((error) => (error ? reject(error) : done())));
}
