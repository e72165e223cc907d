import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, describe, expect, it } from 'vitest';
import { startEmulators } from '#local/emulators';

const breakersTable = {
  KeySchema: [{ AttributeName: 'stage', KeyType: 'HASH' as const }],
  AttributeDefinitions: [{ AttributeName: 'stage', AttributeType: 'S' as const }],
};

describe('startEmulators', () => {
  const home = mkdtempSync(join(tmpdir(), 'chat2svg-emu-'));
  afterAll(() => rmSync(home, { recursive: true, force: true }));

  it('keeps tables, items and objects under its home across restarts', async () => {
    const first = await startEmulators({ home });
    await first.ensureTable('breakers', breakersTable);
    await first.ensureBucket('payloads');
    await first.dynamodb.send(
      new PutItemCommand({ TableName: 'breakers', Item: { stage: { S: 'optimize' }, state: { S: 'OPEN' } } }),
    );
    await first.s3.send(new PutObjectCommand({ Bucket: 'payloads', Key: 'runs/r1/a.json', Body: '{}' }));
    await first.stop();

    const second = await startEmulators({ home });
    await second.ensureTable('breakers', breakersTable);
    await second.ensureBucket('payloads');
    const item = await second.dynamodb.send(
      new GetItemCommand({ TableName: 'breakers', Key: { stage: { S: 'optimize' } } }),
    );
    const object = await second.s3.send(new GetObjectCommand({ Bucket: 'payloads', Key: 'runs/r1/a.json' }));
    const body = await object.Body?.transformToString();
    await second.stop();

    expect(item.Item?.state?.S).toBe('OPEN');
    expect(body).toBe('{}');
  });

  it('queues a second runtime on the same home until the first stops, saying why it waits', async () => {
    const first = await startEmulators({ home });
    const waits: string[] = [];
    const second = startEmulators({ home, onWait: (message) => waits.push(message) });
    await new Promise((resolve) => setTimeout(resolve, 500));
    await first.stop();
    await (await second).stop();

    expect(waits).toEqual([expect.stringMatching(/in use by process \d+; this run starts when it is done/)]);
  });

  it('leaves nothing behind when ephemeral', async () => {
    const emulators = await startEmulators({ ephemeral: true });
    await emulators.ensureTable('cache', breakersTable);
    await emulators.stop();
    expect(existsSync(emulators.home)).toBe(false);
  });
});

describe('the S3 emulator', () => {
  it("accepts a key the runtime allowed (the developer's own, for a Bedrock run)", async () => {
    const emulators = await startEmulators({ ephemeral: true });
    await emulators.ensureBucket('payloads');
    emulators.allowAccessKey('AKIAEXAMPLEREALKEY');
    const other = new S3Client({
      region: 'us-east-1',
      endpoint: emulators.s3Endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: 'AKIAEXAMPLEREALKEY', secretAccessKey: 'secret' },
    });
    await other.send(new PutObjectCommand({ Bucket: 'payloads', Key: 'runs/r/x', Body: 'x' }));
    other.destroy();
    await emulators.stop();
  });
});

describe('the loopback emulators', () => {
  it("refuse every request not signed with this run's own key", async () => {
    const emulators = await startEmulators({ ephemeral: true });
    const someoneElse =
      'AWS4-HMAC-SHA256 Credential=S3RVER/20261129/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00';
    const statuses: number[] = [];
    try {
      for (const endpoint of [emulators.dynamodbEndpoint, emulators.s3Endpoint, emulators.eventsEndpoint]) {
        for (const headers of [{}, { authorization: someoneElse }]) {
          const answer = await fetch(`${endpoint}/`, {
            method: 'POST',
            headers: {
              ...headers,
              'x-amz-target': 'DynamoDB_20120810.ListTables',
              'content-type': 'application/x-amz-json-1.0',
            },
            body: '{}',
          });
          statuses.push(answer.status);
          await answer.arrayBuffer();
        }
      }
    } finally {
      await emulators.stop();
    }
    expect(statuses).toEqual([403, 403, 403, 403, 403, 403]);
  });
});

describe('the EventBridge sink', () => {
  it('records PutEvents entries in events.jsonl', async () => {
    const emulators = await startEmulators({ ephemeral: true });
    const client = new EventBridgeClient({
      region: 'us-east-1',
      endpoint: emulators.eventsEndpoint,
      credentials: emulators.credentials,
    });
    const sent = await client.send(
      new PutEventsCommand({
        Entries: [{ Source: 'chat2svg', DetailType: 'Generation Completed', Detail: '{"requestId":"r1"}' }],
      }),
    );
    const lines = readFileSync(emulators.eventsFile, 'utf8').trim().split('\n');
    client.destroy();
    await emulators.stop();

    expect(sent.FailedEntryCount).toBe(0);
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0])).toMatchObject({ Source: 'chat2svg', DetailType: 'Generation Completed' });
  });

  it('answers a malformed body with a 400 and keeps serving', async () => {
    const emulators = await startEmulators({ ephemeral: true });
    const client = new EventBridgeClient({
      region: 'us-east-1',
      endpoint: emulators.eventsEndpoint,
      credentials: emulators.credentials,
    });
    try {
      const signed = await signedPutEvents(emulators, '{not json');
      const sent = await client.send(
        new PutEventsCommand({ Entries: [{ Source: 's', DetailType: 'd', Detail: '{}' }] }),
      );

      expect(signed.status).toBe(400);
      expect(await signed.json()).toMatchObject({ __type: 'SerializationException' });
      expect(sent.FailedEntryCount).toBe(0);
    } finally {
      client.destroy();
      await emulators.stop();
    }
  });
});

/** A PutEvents call with a raw body, carrying this run's key (the sink checks the key id only). */
function signedPutEvents(
  emulators: { eventsEndpoint: string; credentials: { accessKeyId: string } },
  body: string,
) {
  return fetch(`${emulators.eventsEndpoint}/`, {
    method: 'POST',
    headers: {
      'x-amz-target': 'AWSEvents.PutEvents',
      'content-type': 'application/x-amz-json-1.1',
      authorization: `AWS4-HMAC-SHA256 Credential=${emulators.credentials.accessKeyId}/20261129/us-east-1/events/aws4_request, SignedHeaders=host, Signature=00`,
    },
    body,
  });
}
