// Embedded AWS emulators for the local runtime (docs/architecture.md §10): dynalite for DynamoDB and
// s3rver for S3, started in-process on 127.0.0.1, state under <home>/ unless ephemeral; and an
// EventBridge sink that appends PutEvents entries to <home>/events.jsonl.

import { randomUUID } from 'node:crypto';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  type AttributeDefinition,
  CreateTableCommand,
  DynamoDBClient,
  type KeySchemaElement,
  ResourceInUseException,
} from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import dynalite from 'dynalite';
import S3rver from 's3rver';

export const LOCAL_REGION = 'us-east-1';
export const LOCAL_ACCOUNT = '000000000000';
// Dummy keys: the SDK refuses to sign without credentials, and s3rver accepts only its own pair.
export const LOCAL_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

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
  readonly events: EventBridgeClient;
  /** Environment for code that builds its own SDK clients (Lambda handlers, run-local workers). */
  readonly env: Record<string, string>;
  ensureTable(name: string, props: TableProperties): Promise<void>;
  ensureBucket(name: string): Promise<void>;
  stop(): Promise<void>;
}

export function defaultHome(): string {
  return resolve(process.env.CHAT2SVG_HOME || '.chat2svg');
}

export async function startEmulators(options: EmulatorOptions = {}): Promise<Emulators> {
  const ephemeral = options.ephemeral ?? false;
  const home = ephemeral ? mkdtempSync(join(tmpdir(), 'chat2svg-')) : resolve(options.home ?? defaultHome());
  mkdirSync(join(home, 's3'), { recursive: true });
  if (!ephemeral) {
    mkdirSync(join(home, 'dynamodb'), { recursive: true });
    takeHomeLock(home);
  }

  // createTableMs 0: tables are ACTIVE at once, so a first run need not poll DescribeTable.
  const dynamo = dynalite({
    path: ephemeral ? undefined : join(home, 'dynamodb'),
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
  });
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
  const eventsFile = join(home, 'events.jsonl');
  const eventSink = eventBridgeSink(eventsFile);
  const eventsPort = await listen(eventSink);

  const dynamodbEndpoint = `http://127.0.0.1:${dynamoPort}`;
  const s3Endpoint = `http://127.0.0.1:${s3Address.port}`;
  const eventsEndpoint = `http://127.0.0.1:${eventsPort}`;
  const base = { region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS };
  const dynamodb = new DynamoDBClient({ ...base, endpoint: dynamodbEndpoint });
  const s3 = new S3Client({ ...base, endpoint: s3Endpoint, forcePathStyle: true });
  const events = new EventBridgeClient({ ...base, endpoint: eventsEndpoint });

  return {
    home,
    dynamodbEndpoint,
    s3Endpoint,
    eventsEndpoint,
    eventsFile,
    dynamodb,
    s3,
    events,
    env: {
      AWS_REGION: LOCAL_REGION,
      AWS_DEFAULT_REGION: LOCAL_REGION,
      AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
      AWS_ENDPOINT_URL_DYNAMODB: dynamodbEndpoint,
      AWS_ENDPOINT_URL_S3: s3Endpoint,
      AWS_ENDPOINT_URL_EVENTBRIDGE: eventsEndpoint,
    },
    async ensureTable(name, props) {
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
    },
    async ensureBucket(name) {
      try {
        await s3.send(new CreateBucketCommand({ Bucket: name }));
      } catch (error) {
        const code = (error as Error).name;
        if (code !== 'BucketAlreadyOwnedByYou' && code !== 'BucketAlreadyExists') throw error;
      }
    },
    async stop() {
      dynamodb.destroy();
      s3.destroy();
      events.destroy();
      await Promise.all([close(dynamo), s3rver.close(), close(eventSink)]);
      rmSync(ephemeral ? home : join(home, 'lock'), { recursive: true, force: true });
    },
  };
}

// s3rver knows one key pair and (for SigV4) checks nothing but the key id. Code that runs with the
// developer's own credentials (a Bedrock template, say) must still reach the emulator, so any key id
// maps to s3rver's single account.
function acceptAnyAccessKey(): void {
  const AWSAccount = createRequire(import.meta.url)('s3rver/lib/models/account.js');
  const registry: Map<string, unknown> = AWSAccount.registry;
  if ((registry as { acceptsAny?: boolean }).acceptsAny) return;
  const known = registry.get.bind(registry);
  registry.get = (accessKeyId: string) => known(accessKeyId) ?? AWSAccount.DUMMY_ACCOUNT;
  (registry as { acceptsAny?: boolean }).acceptsAny = true;
}

// LevelDB allows one process per store, and dynalite reports a second opener only by crashing
// on its first request; a pid file turns that into a clear error up front.
function takeHomeLock(home: string): void {
  const lockFile = join(home, 'lock');
  try {
    writeFileSync(lockFile, String(process.pid), { flag: 'wx' });
    return;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  const holder = Number(readFileSync(lockFile, 'utf8'));
  if (isAlive(holder)) {
    throw new Error(
      `${home} is in use by process ${holder}; set CHAT2SVG_HOME to use another state directory`,
    );
  }
  writeFileSync(lockFile, String(process.pid));
}

function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Accepts PutEvents (JSON 1.1) and records each entry; the only EventBridge call the pipeline makes. */
function eventBridgeSink(file: string): Server {
  return createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const target = String(req.headers['x-amz-target'] ?? '');
      res.setHeader('content-type', 'application/x-amz-json-1.1');
      if (!target.endsWith('.PutEvents')) {
        res.statusCode = 400;
        res.end(
          JSON.stringify({ __type: 'UnknownOperationException', message: `${target} is not emulated` }),
        );
        return;
      }
      const { Entries = [] } = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as {
        Entries?: unknown[];
      };
      const time = new Date().toISOString();
      for (const entry of Entries)
        appendFileSync(file, `${JSON.stringify({ time, ...(entry as object) })}\n`);
      res.end(
        JSON.stringify({ FailedEntryCount: 0, Entries: Entries.map(() => ({ EventId: randomUUID() })) }),
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
