// Builds the CDK app for one environment. Used by `cdk synth` (bin/app.ts), by the local runtime
// (in-process, bundling off) and by the infra tests.
import { App, Tags, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { loadConfig, type PipelineConfig } from './config/environments.ts';
import { PipelineStack } from './stacks/pipeline-stack.ts';

export interface PipelineAppOptions {
  /** dev | staging | prod; defaults to the `env` context value, then `dev`. */
  readonly envName?: string;
  /** Cloud assembly directory; defaults to CDK's (a temporary directory outside the CLI). */
  readonly outdir?: string;
  /**
   * Whether NodejsFunction runs esbuild. Off skips bundling entirely, which keeps in-process
   * synthesis fast; the template is otherwise identical apart from asset hashes.
   * @default true
   */
  readonly bundling?: boolean;
  /** Extra context values, e.g. feature flags. */
  readonly context?: Record<string, unknown>;
  /**
   * CDK's built-in CloudFormation schema validation at synth (a WebAssembly engine that takes
   * seconds to start); the local runtime turns it off.
   * @default true
   */
  readonly cfnValidation?: boolean;
  /**
   * Run the cdk-nag AwsSolutions checks as a policy validation plugin at synth.
   * @default false
   */
  readonly nag?: boolean;
}

export interface PipelineApp {
  readonly app: App;
  readonly stack: PipelineStack;
  readonly config: PipelineConfig;
}

export function stackNameFor(envName: string): string {
  return `Chat2Svg-${envName}`;
}

/** Feature flags live here, not in cdk.json, so CLI and in-process synthesis agree. */
const FEATURE_FLAGS: Record<string, unknown> = {
  '@aws-cdk/aws-iam:minimizePolicies': true,
};

export function createPipelineApp(opts: PipelineAppOptions = {}): PipelineApp {
  const context: Record<string, unknown> = { ...FEATURE_FLAGS, ...opts.context };
  if (opts.bundling === false) context['aws:cdk:bundling-stacks'] = [];
  const app = new App({
    outdir: opts.outdir,
    context,
    builtinCloudFormationValidation: opts.cfnValidation ?? true,
  });
  const envName = opts.envName ?? (app.node.tryGetContext('env') as string | undefined) ?? 'dev';
  const gpuBackend = app.node.tryGetContext('gpuBackend') as string | undefined;
  const config = loadConfig(envName, { gpuBackend });
  // No account or region: the template stays environment-agnostic and synthesizes offline.
  const stack = new PipelineStack(app, stackNameFor(envName), {
    config,
    description: `chat2svg text-to-SVG pipeline (${envName})`,
  });
  Tags.of(stack).add('project', 'chat2svg');
  Tags.of(stack).add('environment', envName);
  if (opts.nag) Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
  return { app, stack, config };
}
