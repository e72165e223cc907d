// The contract between the pipeline definition and a GPU backend (pool, task or batch).
import type { Duration } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import type { ContainerStageName } from '#contracts/schemas';
import type { GpuBackendName } from '#contracts/transports';
import type { BacklogSource } from '#functions/publish-load/environment';

export interface RunStageTaskOptions {
  readonly stage: ContainerStageName;
  /** State name in the definition, e.g. `detail.Run`. */
  readonly stateName?: string;
  /** JSONPath of the prepared StageInput PayloadRef. */
  readonly inputPath: string;
  /** Seconds without a heartbeat before States.HeartbeatTimeout, the cold start already included. */
  readonly heartbeat: Duration;
  readonly timeout: Duration;
  readonly resultSelector?: Record<string, unknown>;
  readonly resultPath?: string;
  readonly comment?: string;
}

export interface StageBackend {
  readonly name: GpuBackendName;
  /** Error names of the start call that a retry can fix (throttling, service faults). */
  readonly transientErrors: string[];
  /** Roles that answer task tokens (SendTaskSuccess/Failure/Heartbeat). */
  readonly workerRoles: iam.IRole[];
  /** The callback task that hands one StageInput to a worker and waits for its answer. */
  runStageTask(scope: Construct, id: string, options: RunStageTaskOptions): sfn.TaskStateBase;
  /** cdk-nag finding ids of the wildcard grants CDK gives the state machine to start work. */
  stateMachineFindings(): string[];
  /** Where each stage's backlog is read (functions/publish-load), as construct tokens. */
  backlogSource(): BacklogSource;
  /**
   * Read-only access to that backlog for `grantee`; returns the cdk-nag finding ids of its
   * wildcard grants (APIs without resource-level permissions, task ids known only at run time).
   */
  grantBacklogRead(grantee: iam.IGrantable): string[];
}
