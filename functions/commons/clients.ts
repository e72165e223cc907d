// AWS SDK v3 clients, traced by the handler's Tracer. Endpoints come from the standard SDK settings
// (AWS_ENDPOINT_URL_DYNAMODB, AWS_ENDPOINT_URL_S3, …); the local runtime and tests pass their own
// clients instead (HandlerDeps.clients).
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { S3Client } from '@aws-sdk/client-s3';
import type { Tools } from './lambda.ts';

export interface Clients {
  readonly dynamodb: DynamoDBClient;
  readonly s3: S3Client;
  readonly events: EventBridgeClient;
}

/** What a handler factory takes besides its config; anything left out is made for Lambda. */
export interface HandlerDeps {
  readonly tools?: Tools;
  readonly clients?: Partial<Clients>;
}

export function dynamoClient({ tracer }: Tools): DynamoDBClient {
  return tracer.captureAWSv3Client(new DynamoDBClient({}));
}

export function s3Client({ tracer }: Tools): S3Client {
  // An endpoint override means an emulator (s3rver) or a gateway that cannot resolve
  // bucket subdomains; path-style addressing works on both.
  const overridden = Boolean(process.env.AWS_ENDPOINT_URL_S3 || process.env.AWS_ENDPOINT_URL);
  return tracer.captureAWSv3Client(new S3Client({ forcePathStyle: overridden }));
}

export function eventBridgeClient({ tracer }: Tools): EventBridgeClient {
  return tracer.captureAWSv3Client(new EventBridgeClient({}));
}
