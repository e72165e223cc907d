// Environment read once at module load: a missing setting fails the cold start, not a request.

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

export function requireEnv(name: string, env: NodeJS.ProcessEnv = process.env): string {
  const value = env[name];
  if (value === undefined || value === '') throw new MissingEnvError(name);
  return value;
}

export function optionalEnv(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const value = env[name];
  return value === undefined || value === '' ? undefined : value;
}

/** A non-negative integer setting with a default. */
export function intEnv(name: string, fallback: number, env: NodeJS.ProcessEnv = process.env): number {
  const raw = optionalEnv(name, env);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0)
    throw new InvalidEnvError(name, `expected a non-negative integer, got "${raw}"`);
  return value;
}

/** `a,b , c` ⇒ ['a', 'b', 'c']; unset ⇒ []. */
export function listEnv(name: string, env: NodeJS.ProcessEnv = process.env): string[] {
  return (optionalEnv(name, env) ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
}
