import { defineConfig } from 'vitest/config';

// Integration tests start real QEMU processes; two cores cannot run many at once.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 30_000,
    reporters: ['default'],
    // Each test file its own control directory: the machine's default one is never looked at.
    // And its temporary directories removed after it (vitest ends its workers without an 'exit' event).
    setupFiles: ['test/support/hermetic-control.ts', 'test/support/remove-temp-dirs.ts'],
    // Quiet logs unless asked (DIRQL_LOG=debug npx vitest ...). Set here, before any test file loads a
    // module that creates its logger at import time (a line in the test file runs too late for those).
    env: { DIRQL_LOG: process.env.DIRQL_LOG ?? 'silent' },
  },
});
