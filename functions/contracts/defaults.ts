// Defaults that the deployment config (infra/config/environments.ts) and the handlers both need:
// stage time limits and the template models. Kept free of aws-cdk-lib, as contracts are.
import type { LlmProvider, StageName } from './schemas.ts';

export interface StageLimits {
  /** Upper bound for the stage's Run step, queueing for a GPU instance included. */
  readonly timeoutSeconds: number;
  /** Seconds without a heartbeat before Step Functions fails a container task (none for a Lambda). */
  readonly heartbeatSeconds?: number;
}

/** Per stage: the state machine's task timeouts and, for the template, the Lambda's own. */
export const STAGE_LIMITS = {
  template: { timeoutSeconds: 120 },
  detail: { timeoutSeconds: 900, heartbeatSeconds: 120 },
  optimize: { timeoutSeconds: 600, heartbeatSeconds: 60 },
} as const satisfies Record<StageName, StageLimits>;

/** Standard and larger template model per provider; the plan's `useLargerModel` picks one. */
export const LLM_MODELS: Record<Exclude<LlmProvider, 'offline'>, { standard: string; large: string }> = {
  bedrock: {
    standard: 'anthropic.claude-3-5-haiku-20241022-v1:0',
    large: 'anthropic.claude-3-7-sonnet-20250219-v1:0',
  },
  anthropic: { standard: 'claude-haiku-4-5', large: 'claude-sonnet-4-5' },
  openai: { standard: 'gpt-4o-mini', large: 'gpt-4o' },
};
