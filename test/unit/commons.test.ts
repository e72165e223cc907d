import { describe, expect, it } from 'vitest';
import { intEnv, listEnv, optionalEnv, requireEnv } from '#commons/env';

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
