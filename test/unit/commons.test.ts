import { describe, expect, it } from 'vitest';
import { intEnv, listEnv, optionalEnv, requireEnv } from '#commons/env';
import { AppError, InvalidInputError, InvalidRequestError } from '#commons/errors';
import { createLogger } from '#commons/logger';

describe('env', () => {
  it('throws Config.MissingEnv naming the variable when a required one is unset or empty', () => {
    expect(() => requireEnv('CACHE_TABLE', { CACHE_TABLE: '' })).toThrow(
      expect.objectContaining({
        name: 'Config.MissingEnv',
        message: 'environment variable CACHE_TABLE is not set',
      }),
    );
    expect(requireEnv('CACHE_TABLE', { CACHE_TABLE: 'cache' })).toBe('cache');
  });

  it('reads optional, integer and list settings', () => {
    const env = { A: '', N: '42', L: 'detail, ,optimize' };

    expect(optionalEnv('A', env)).toBeUndefined();
    expect(intEnv('N', 1, env)).toBe(42);
    expect(intEnv('MISSING', 7, env)).toBe(7);
    expect(listEnv('L', env)).toEqual(['detail', 'optimize']);
    expect(() => intEnv('L', 1, env)).toThrow(expect.objectContaining({ name: 'Config.InvalidEnv' }));
  });
});

describe('errors', () => {
  it('shows callers a 4xx message and hides a 5xx one', () => {
    expect(new InvalidRequestError('prompt: prompt must not be empty').publicMessage).toBe(
      'prompt: prompt must not be empty',
    );
    expect(new InvalidInputError('table breakers-prod-xyz unreachable').publicMessage).toBe('internal error');
    expect(new InvalidRequestError('x')).toBeInstanceOf(AppError);
  });
});

describe('logger', () => {
  it('writes one JSON line per entry with the context and plain errors, above the level only', () => {
    const lines: string[] = [];
    const previous = process.env.LOG_LEVEL;
    process.env.LOG_LEVEL = 'info';
    const logger = createLogger('test', (line) => lines.push(line));
    process.env.LOG_LEVEL = previous;

    logger.setContext({ awsRequestId: 'r-1' });
    logger.debug('hidden');
    logger.error('failed', { error: new InvalidRequestError('bad seed') });

    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0])).toMatchObject({
      level: 'error',
      service: 'test',
      message: 'failed',
      awsRequestId: 'r-1',
      error: { name: 'Request.Invalid', message: 'bad seed' },
    });
  });
});
