// A handler module for runtime tests: echoes its event, the setting it was configured with and the
// context it ran under, waits when asked, or fails with the error name the event asks for.
import type { Env } from '#commons/env';
import type { Context } from '#commons/lambda';

class NamedError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

export function configFromEnv(env: Env) {
  return { greeting: env.ECHO_GREETING };
}

export function makeHandler(config: { greeting?: string }) {
  return async (event: { fail?: string; value?: unknown; waitMs?: number }, context: Context) => {
    if (event.fail) throw new NamedError(event.fail, `asked to fail with ${event.fail}`);
    if (event.waitMs) await new Promise((resolve) => setTimeout(resolve, event.waitMs));
    return {
      value: event.value,
      greeting: config.greeting,
      functionName: context.functionName,
      memoryLimitInMB: context.memoryLimitInMB,
    };
  };
}
