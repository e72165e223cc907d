// The state machine definition as CDK synthesizes it, and a resolver for the CloudFormation
// intrinsics in it, so the local runtime runs exactly what would be deployed.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { createPipelineApp, type PipelineAppOptions } from './app.ts';

/** cx-api's DISABLE_ASSET_STAGING_CONTEXT: assets stay where they are instead of being copied. */
const DISABLE_ASSET_STAGING = 'aws:cdk:disable-asset-staging';

export type CfnTemplate = {
  Resources: Record<string, CfnResource>;
  Parameters?: Record<string, unknown>;
  Outputs?: Record<string, unknown>;
  [key: string]: unknown;
};
export type CfnResource = {
  Type: string;
  Properties?: Record<string, unknown>;
  Metadata?: Record<string, unknown>;
  [key: string]: unknown;
};

export interface SynthesizedPipeline {
  readonly template: CfnTemplate;
  readonly stackName: string;
  readonly stateMachineLogicalId: string;
  /** The state machine's DefinitionString: a CloudFormation value (usually Fn::Join) to resolve. */
  readonly definition: unknown;
}

/**
 * Synthesizes the pipeline stack in-process and picks out the state machine. Bundling and the
 * built-in CloudFormation validation are off unless asked for: neither changes the definition.
 */
export function synthesizePipeline(opts: PipelineAppOptions = {}): SynthesizedPipeline {
  const bundling = opts.bundling ?? false;
  // Without an outdir the assembly is only a means to the template: write it to a temporary
  // directory, without copying assets there, and remove it afterwards.
  const outdir = opts.outdir ?? mkdtempSync(path.join(tmpdir(), 'chat2svg-synth-'));
  const { app, stack } = createPipelineApp({
    ...opts,
    outdir,
    bundling,
    cfnValidation: opts.cfnValidation ?? false,
    context: opts.outdir || bundling ? opts.context : { [DISABLE_ASSET_STAGING]: true, ...opts.context },
  });
  let template: CfnTemplate;
  try {
    template = app.synth().getStackArtifact(stack.artifactId).template as CfnTemplate;
  } finally {
    if (!opts.outdir) rmSync(outdir, { recursive: true, force: true });
  }
  const machines = Object.entries(template.Resources).filter(
    ([, resource]) => resource.Type === 'AWS::StepFunctions::StateMachine',
  );
  if (machines.length !== 1) throw new Error(`expected one state machine, found ${machines.length}`);
  const [stateMachineLogicalId, resource] = machines[0];
  return {
    template,
    stackName: stack.stackName,
    stateMachineLogicalId,
    definition: resource.Properties?.DefinitionString,
  };
}

/** Returns the value of `Ref: logicalId` (attribute undefined) or `Fn::GetAtt: [logicalId, attribute]`. */
export type ResolveRef = (logicalId: string, attribute?: string) => string;

export interface PseudoParameters {
  readonly partition: string;
  readonly region: string;
  readonly accountId: string;
  readonly urlSuffix: string;
  readonly stackName: string;
  readonly stackId: string;
}

export const LOCAL_PSEUDO_PARAMETERS: PseudoParameters = {
  partition: 'aws',
  region: 'us-east-1',
  accountId: '000000000000',
  urlSuffix: 'amazonaws.com',
  stackName: 'chat2svg-local',
  stackId: 'arn:aws:cloudformation:us-east-1:000000000000:stack/chat2svg-local/local',
};

function pseudo(name: string, p: PseudoParameters): string | undefined {
  switch (name) {
    case 'AWS::Partition':
      return p.partition;
    case 'AWS::Region':
      return p.region;
    case 'AWS::AccountId':
      return p.accountId;
    case 'AWS::URLSuffix':
      return p.urlSuffix;
    case 'AWS::StackName':
      return p.stackName;
    case 'AWS::StackId':
      return p.stackId;
    case 'AWS::NoValue':
      return undefined;
    default:
      return undefined;
  }
}

const isPseudo = (name: string) => name.startsWith('AWS::');

/**
 * Resolves Ref, Fn::GetAtt, Fn::Join, Fn::Sub, Fn::Select, Fn::Split, Fn::GetAZs and pseudo
 * parameters anywhere inside `value`; other values are copied as they are.
 */
export function resolveCfn(
  value: unknown,
  resolveRef: ResolveRef,
  pseudoParameters: PseudoParameters = LOCAL_PSEUDO_PARAMETERS,
): unknown {
  const recurse = (v: unknown): unknown => resolveCfn(v, resolveRef, pseudoParameters);
  const str = (v: unknown): string => {
    const resolved = recurse(v);
    if (typeof resolved !== 'string') throw new Error(`expected a string, got ${JSON.stringify(resolved)}`);
    return resolved;
  };
  const ref = (name: string, attribute?: string): string => {
    if (attribute === undefined && isPseudo(name)) {
      const resolved = pseudo(name, pseudoParameters);
      if (resolved === undefined) throw new Error(`unsupported pseudo parameter ${name}`);
      return resolved;
    }
    return resolveRef(name, attribute);
  };

  if (Array.isArray(value)) return value.map(recurse);
  if (value === null || typeof value !== 'object') return value;
  const entries = Object.entries(value);
  if (entries.length === 1) {
    const [key, arg] = entries[0];
    switch (key) {
      case 'Ref':
        return ref(arg as string);
      case 'Fn::GetAtt': {
        const [id, attribute] = typeof arg === 'string' ? splitOnce(arg, '.') : (arg as [string, unknown]);
        return ref(id, str(attribute));
      }
      case 'Fn::Join': {
        const [separator, parts] = arg as [string, unknown[]];
        const resolved = recurse(parts);
        if (!Array.isArray(resolved)) throw new Error('Fn::Join needs a list');
        return resolved.map((part) => String(part)).join(separator);
      }
      case 'Fn::Select': {
        const [index, list] = arg as [unknown, unknown];
        const resolved = recurse(list);
        if (!Array.isArray(resolved)) throw new Error('Fn::Select needs a list');
        return resolved[Number(recurse(index))];
      }
      case 'Fn::Split': {
        const [separator, source] = arg as [string, unknown];
        return str(source).split(separator);
      }
      case 'Fn::GetAZs':
        return ['a', 'b', 'c'].map((zone) => `${pseudoParameters.region}${zone}`);
      case 'Fn::Sub': {
        const [template, variables] =
          typeof arg === 'string' ? [arg, {}] : (arg as [string, Record<string, unknown>]);
        return template.replace(/\$\{(!?)([^}]+)\}/g, (_match, literal: string, name: string) => {
          if (literal) return `\${${name}}`;
          if (name in variables) return str(variables[name]);
          const [id, attribute] = splitOnce(name, '.');
          return attribute === undefined ? ref(id) : ref(id, attribute);
        });
      }
      default:
        if (key.startsWith('Fn::')) throw new Error(`unsupported intrinsic ${key}`);
    }
  }
  return Object.fromEntries(entries.map(([k, v]) => [k, recurse(v)]));
}

function splitOnce(value: string, separator: string): [string, string | undefined] {
  const index = value.indexOf(separator);
  return index < 0 ? [value, undefined] : [value.slice(0, index), value.slice(index + 1)];
}

/**
 * A resolver giving each resource a plausible local name or ARN derived from its logical id:
 * table and bucket names are the logical id, Lambda ARNs end in the logical id, task
 * definitions resolve to their family.
 */
export function localResolveRef(
  template: CfnTemplate,
  pseudoParameters: PseudoParameters = LOCAL_PSEUDO_PARAMETERS,
): ResolveRef {
  const { partition, region, accountId } = pseudoParameters;
  return (logicalId, attribute) => {
    const resource = template.Resources[logicalId];
    if (!resource) {
      if (template.Parameters?.[logicalId] !== undefined) return `local-parameter-${logicalId}`;
      throw new Error(`unknown logical id ${logicalId}`);
    }
    const arn = (service: string, resourcePart: string) =>
      `arn:${partition}:${service}:${region}:${accountId}:${resourcePart}`;
    switch (resource.Type) {
      case 'AWS::Lambda::Function':
        return attribute === 'Arn' ? arn('lambda', `function:${logicalId}`) : logicalId;
      case 'AWS::DynamoDB::Table':
        if (attribute === 'Arn') return arn('dynamodb', `table/${logicalId}`);
        if (attribute === 'StreamArn') return arn('dynamodb', `table/${logicalId}/stream/local`);
        return logicalId;
      case 'AWS::S3::Bucket':
        if (attribute === 'Arn') return `arn:${partition}:s3:::${logicalId.toLowerCase()}`;
        return logicalId.toLowerCase();
      case 'AWS::ECS::Cluster':
        return attribute === 'Arn' ? arn('ecs', `cluster/${logicalId}`) : logicalId;
      case 'AWS::ECS::TaskDefinition': {
        const family = (resource.Properties?.Family as string | undefined) ?? logicalId;
        return arn('ecs', `task-definition/${family}:1`);
      }
      case 'AWS::ECS::CapacityProvider':
        return logicalId;
      case 'AWS::StepFunctions::StateMachine':
        if (attribute === 'Name') return logicalId;
        return arn('states', `stateMachine:${logicalId}`);
      default:
        return attribute === 'Arn' ? arn('local', logicalId) : logicalId;
    }
  };
}

/** The Amazon States Language document of a synthesized pipeline, intrinsics resolved. */
export function resolveDefinition(pipeline: SynthesizedPipeline, resolveRef?: ResolveRef): AslDefinition {
  const resolved = resolveCfn(pipeline.definition, resolveRef ?? localResolveRef(pipeline.template));
  if (typeof resolved !== 'string') throw new Error('DefinitionString did not resolve to a string');
  return JSON.parse(resolved) as AslDefinition;
}

export interface AslState {
  Type: string;
  Resource?: string;
  Parameters?: Record<string, unknown>;
  Next?: string;
  End?: boolean;
  [key: string]: unknown;
}
export interface AslDefinition {
  StartAt: string;
  States: Record<string, AslState>;
  [key: string]: unknown;
}
