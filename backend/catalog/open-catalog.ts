/** Opening a catalog of the kind a config names. */
import { systemClock } from "../clock.js";
import { openPostgresCatalog } from "./postgres.js";
import { openRedisCatalog } from "./redis.js";
import { openSqliteCatalog } from "./sqlite.js";
import { CATALOG_ERRORS, CatalogError, type Catalog, type CatalogConfig, type CatalogOptions } from "./types.js";

/**
 * Opens the shared cache: SQLite (embedded default), PostgreSQL or Redis,
 * creating tables on first use. Every catalog opened on the same file, schema
 * or prefix shares entries and reservations, across processes and backends.
 *
 * @example
 * ```ts
 * import { openCatalog } from "petrel/backend";
 * import { computeCacheKey } from "petrel";
 *
 * const catalog = await openCatalog({ kind: "sqlite", path: ".petrel/server/catalog.sqlite" }, { blobs });
 * const scope = { project: "demo", domain: "development" };
 * const key = computeCacheKey(taskSpec, inputs);     // the very key a notebook's local run uses
 * const found = await catalog.lookup(scope, key, blobs);
 * found.reason;                                       // "latest cached result for clean differs: input df (3f2a… -> 9c1b…) changed"
 * if (found.status === "MISS") {
 *   const owner = "exec-1/clean";
 *   const got = await catalog.acquire(scope, key, owner, { ttlMs: 30_000 });  // waits while another execution computes it
 *   if (got.status === "reserved") {
 *     const outputs = await run();                    // heartbeat(scope, key.key, owner, 30_000) every 10 s meanwhile
 *     await catalog.store(scope, key, { parts: key.parts, outputs, createdAt: new Date().toISOString(), producedBy: { execution: "exec-1", node: "clean" } });
 *     await catalog.release(scope, key.key, owner);
 *   }
 * }
 * await catalog.close();
 * ```
 */
export async function openCatalog(config: CatalogConfig, options: CatalogOptions = {}): Promise<Catalog> {
  const clock = options.clock ?? systemClock;
  switch (config?.kind) {
    case "sqlite":
      if (typeof config.path !== "string" || config.path === "") {
        throw new CatalogError(CATALOG_ERRORS.CONFIG, "catalog: sqlite needs a file path (or :memory:)", { field: "path" });
      }
      try {
        return openSqliteCatalog(config.path, clock, options.blobs);
      } catch (error) {
        throw new CatalogError(CATALOG_ERRORS.UNAVAILABLE, `catalog: cannot open SQLite file ${config.path}: ${(error as Error).message}`, { kind: "sqlite" }, { cause: error });
      }
    case "postgres":
      return openPostgresCatalog(config.url, config.schema, clock, options.blobs);
    case "redis":
      return openRedisCatalog(config.url, config.prefix, clock, options.blobs);
    default:
      throw new CatalogError(CATALOG_ERRORS.CONFIG, `catalog: unknown kind ${JSON.stringify((config as { kind?: unknown } | undefined)?.kind)}; expected sqlite, postgres or redis`, {
        field: "kind",
      });
  }
}
