// Reading a handler's config from its environment (configFromEnv, once per cold start): a missing
// or malformed setting fails the cold start, not a request.

/** A Lambda function's environment: process.env in Lambda, the synthesized variables locally. */
export type Env = Readonly<Record<string, string | undefined>>;

export class MissingEnvError extends Error {
  constructor(readonly variable: string) {
    super(`environment variable ${variable} is not set`);
    this.name = 'Config.MissingEnv';
  }
}

export class InvalidEnvError extends Error {
  constructor(
    readonly variable: string,
    detail: string,
  ) {
    super(`environment variable ${variable} is invalid: ${detail}`);
    this.name = 'Config.InvalidEnv';
  }
}

export function requireEnv(name: string, env: Env = process.env): string {
  const value = env[name];
  if (value === undefined || value === '') throw new MissingEnvError(name);
  return value;
}

export function optionalEnv(name: string, env: Env = process.env): string | undefined {
  const value = env[name];
  return value === undefined || value === '' ? undefined : value;
}

/** A non-negative integer setting with a default. */
export function intEnv(name: string, fallback: number, env: Env = process.env): number {
  const raw = optionalEnv(name, env);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0)
    throw new InvalidEnvError(name, `expected a non-negative integer, got "${raw}"`);
  return value;
}

/** `a,b , c` ⇒ ['a', 'b', 'c']; unset ⇒ []. */
export function listEnv(name: string, env: Env = process.env): string[] {
  return (optionalEnv(name, env) ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
}
