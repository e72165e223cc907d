import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Quiet runs: console output is kept back and printed only for a failing test. Powertools writes
    // through the global console in dev mode (and then publishes no EMF), so its logs count too.
    silent: 'passed-only',
    env: {
      POWERTOOLS_DEV: 'true',
      POWERTOOLS_LOG_LEVEL: 'DEBUG',
      // The SDK's Node 20 end-of-support notice, once per worker, says nothing about the code under test.
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    },
  },
});
