import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // In CI: builds the Kubernetes suites' API server first, with both cores to itself.
    globalSetup: ["test/global-setup.ts"],
    environment: "node",
    // Child processes (not worker threads): native addons such as better-sqlite3
    // and zeromq, and tests that spawn node, behave as in production.
    pool: "forks",
    // Two cores; many suites wait on child processes or sockets, so both are used.
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
