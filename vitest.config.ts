import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Native modules (better-sqlite3, fuse-native, sharp) are safest in forked processes.
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Real servers start per test file; two cores do not gain from more parallel files.
    maxWorkers: 2,
    reporters: ['default', './test/support/summary-reporter.ts'],
    // The AWS SDK warns on every Node 20 process that it will need Node 22 in 2027: noise in test output.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  },
});
