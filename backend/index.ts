/**
 * The Petrel backend: the control plane (projects and domains, bundles, tasks,
 * workflows and launch plans with immutable versions, executions, nodes, the
 * data API, promotion), over SQLite or PostgreSQL and a filesystem or S3 blob
 * store, with bearer-token auth and project isolation. `petrel server` runs it;
 * `createTestBackend()` runs it in-process for tests.
 *
 * @example
 * ```ts
 * import { startServer, createTestBackend } from "petrel/backend";
 *
 * const server = await startServer({ dataDir: "./.petrel/server", port: 8470 });
 * console.log(server.url, server.adminToken);   // http://127.0.0.1:8470 petrel_admin_...
 *
 * const backend = await createTestBackend();     // SQLite in a temp dir, manual clock
 * await backend.createProject("demo");
 * const res = await backend.request("/projects/demo");
 * await backend.close();
 * ```
 */
export * from "./api/index.js";
export * from "./store/index.js";
export * from "./blobs/index.js";
export * from "./catalog/index.js";
export * from "./scheduler/index.js";
export { createConsole, SESSION_COOKIE, type ConsoleOptions } from "./console/index.js";
export * from "./config.js";
export * from "./clock.js";
export { startServer, ensureAdminToken, openMetadataStore, openBlobStore, apiSettings, type RunningServer } from "./server.js";
export { createTestBackend, type TestBackend, type TestBackendOptions, type TestRequestInit } from "./testing.js";
export { serverCommand, createBackendCli, describeServer, serverOptionsFromFlags } from "./cli.js";
