// Lookups over a synthesized template that the infra tests share.
import type { Template } from 'aws-cdk-lib/assertions';

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation properties are untyped JSON, read deep in tests.
type Json = any;
export type Resource = {
  Type: string;
  Properties?: Record<string, Json>;
  Metadata?: Record<string, unknown>;
};

export function resources(template: Template, type: string): [string, Resource][] {
  return Object.entries(template.findResources(type)) as [string, Resource][];
}

/** Logical id of the Lambda function built from `functions/<file>.ts`. */
export function functionIdFor(template: Template, file: string): string {
  const match = resources(template, 'AWS::Lambda::Function').find(
    ([, fn]) => fn.Metadata?.['chat2svg:entry'] === `functions/${file}.ts`,
  );
  if (!match) throw new Error(`no function for functions/${file}.ts`);
  return match[0];
}

export interface Grant {
  actions: string[];
  resources: string;
}

const TRACING_ACTIONS = ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'];

/**
 * Every statement of the policies attached to the execution role of `functions/<file>.ts`, but the
 * X-Ray statement active tracing gives every function (tested on its own).
 */
export function grantsOf(template: Template, file: string): Grant[] {
  const fn = template.findResources('AWS::Lambda::Function')[functionIdFor(template, file)] as Resource;
  const roleId = fn.Properties?.Role['Fn::GetAtt'][0] as string;
  return resources(template, 'AWS::IAM::Policy')
    .filter(([, policy]) =>
      ((policy.Properties?.Roles as unknown[] | undefined) ?? []).some(
        (r) => JSON.stringify(r) === JSON.stringify({ Ref: roleId }),
      ),
    )
    .flatMap(([, policy]) => policy.Properties?.PolicyDocument.Statement as Record<string, unknown>[])
    .map((statement) => ({
      actions: ([] as string[]).concat(statement.Action as string | string[]),
      resources: JSON.stringify(statement.Resource),
    }))
    .filter((grant) => !grant.actions.every((action) => TRACING_ACTIONS.includes(action)));
}

export function actionsOf(template: Template, file: string): string[] {
  return grantsOf(template, file).flatMap((grant) => grant.actions);
}

export function logicalIdOf(
  template: Template,
  type: string,
  predicate: (resource: Resource) => boolean,
): string {
  const match = resources(template, type).find(([, resource]) => predicate(resource));
  if (!match) throw new Error(`no ${type} matches`);
  return match[0];
}
