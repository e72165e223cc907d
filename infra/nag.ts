// cdk-nag v3 findings are acknowledged through CDK's own Validations API, one finding id at a time.
import { Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/** Acknowledges each of `ids` (e.g. `AwsSolutions-IAM5[Action::s3:List*]`) on `scope` and below. */
export function acknowledge(scope: IConstruct, reason: string, ...ids: string[]): void {
  for (const id of ids) Validations.of(scope).acknowledge({ id, reason });
}
