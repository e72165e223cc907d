// The breaker's settings and the stage timeouts that size a probe lease, as the handlers receive
// them. Their values live in infra/config/environments.ts (one place per environment); this module
// names the environment variables that carry them, for the stack that sets them and the handlers
// that read them.
import { InvalidEnvError, requireEnv } from '#commons/env';
import { STAGES, type StageName } from '#contracts/schemas';

/**
 * Opening rule (as resilience4j's and Polly's): over a rolling time window, once at least
 * `minimumCalls` outcomes were counted, a failure rate at or above `failureRatePercent` opens the
 * breaker for `openSeconds`; then one execution probes.
 */
export interface BreakerSettings {
  readonly failureRatePercent: number;
  readonly minimumCalls: number;
  readonly windowSeconds: number;
  readonly openSeconds: number;
}

/** Each stage's own timeout: how long its Run may take, and so how long its probe lease lasts. */
export type StageTimeouts = Readonly<Record<StageName, number>>;

const BREAKER_ENV: Record<keyof BreakerSettings, string> = {
  failureRatePercent: 'BREAKER_FAILURE_RATE_PERCENT',
  minimumCalls: 'BREAKER_MINIMUM_CALLS',
  windowSeconds: 'BREAKER_WINDOW_SECONDS',
  openSeconds: 'BREAKER_OPEN_SECONDS',
};
const timeoutEnv = (stage: StageName) => `${stage.toUpperCase()}_TIMEOUT_SECONDS`;

export function breakerEnvironment(settings: BreakerSettings): Record<string, string> {
  return Object.fromEntries(
    (Object.keys(BREAKER_ENV) as (keyof BreakerSettings)[]).map((key) => [
      BREAKER_ENV[key],
      String(settings[key]),
    ]),
  );
}

export function stageTimeoutEnvironment(timeouts: StageTimeouts): Record<string, string> {
  return Object.fromEntries(STAGES.map((stage) => [timeoutEnv(stage), String(timeouts[stage])]));
}

function positiveInt(name: string, env: NodeJS.ProcessEnv, max = Number.MAX_SAFE_INTEGER): number {
  const raw = requireEnv(name, env);
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1 || value > max)
    throw new InvalidEnvError(name, `expected an integer from 1 to ${max}, got "${raw}"`);
  return value;
}

export function breakerSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): BreakerSettings {
  return {
    failureRatePercent: positiveInt(BREAKER_ENV.failureRatePercent, env, 100),
    minimumCalls: positiveInt(BREAKER_ENV.minimumCalls, env),
    windowSeconds: positiveInt(BREAKER_ENV.windowSeconds, env),
    openSeconds: positiveInt(BREAKER_ENV.openSeconds, env),
  };
}

export function stageTimeoutsFromEnv(env: NodeJS.ProcessEnv = process.env): StageTimeouts {
  return Object.fromEntries(STAGES.map((stage) => [stage, positiveInt(timeoutEnv(stage), env)])) as Record<
    StageName,
    number
  >;
}
