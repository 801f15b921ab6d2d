/**
 * The metadata store: projects, registered entities, executions, nodes and
 * tokens, in SQLite (embedded default) or PostgreSQL, behind one interface.
 *
 * @example
 * ```ts
 * import { createSqliteStore } from "petrel/backend";
 * const store = await createSqliteStore({ path: "/tmp/petrel/petrel.sqlite" });
 * await store.createProject({ name: "demo", description: "", labels: {}, createdAt: Date.now(), createdBy: "me" });
 * const { token } = await store.createNodeToken({ execution: { project: "demo", domain: "development", name: "x1" }, node: "n0" });
 * ```
 */
export * from "./types.js";
export * from "./errors.js";
export { createSqliteStore, DEFAULT_SQLITE_BUSY_TIMEOUT_MS, type SqliteStoreOptions } from "./sqlite.js";
export { createPostgresStore, DEFAULT_POSTGRES_POOL_SIZE, type PostgresStoreOptions } from "./postgres.js";
export { MIGRATIONS, type Migration } from "./migrations.js";
