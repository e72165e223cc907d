// AWS SDK v3 clients. Endpoints come from the standard SDK settings (AWS_ENDPOINT_URL_DYNAMODB,
// AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, …) so the local runtime points them at its emulators.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { S3Client } from '@aws-sdk/client-s3';

export function dynamoClient(): DynamoDBClient {
  return new DynamoDBClient({});
}

export function s3Client(): S3Client {
  // An endpoint override means an emulator (s3rver) or a gateway that cannot resolve
  // bucket subdomains; path-style addressing works on both.
  const overridden = Boolean(process.env.AWS_ENDPOINT_URL_S3 || process.env.AWS_ENDPOINT_URL);
  return new S3Client({ forcePathStyle: overridden });
}

export function eventBridgeClient(): EventBridgeClient {
  return new EventBridgeClient({});
}
