/**
 * The catalog: the backend's shared cache. Entries are keyed exactly as the
 * local engine keys them (`computeCacheKey`: task, cache version, interface and
 * input content hashes), so a result cached by anyone's execution is a hit for
 * everyone in the same project and domain. Entries go through keyv, on SQLite
 * (embedded default), PostgreSQL or Redis; reservations, atomic in each store
 * itself, make one execution compute a key while the others wait for its entry.
 *
 * @example
 * ```ts
 * import { openCatalog } from "petrel/backend";
 *
 * const catalog = await openCatalog({ kind: "redis", url: "redis://127.0.0.1:6379" }, { blobs });
 * const scope = { project: "demo", domain: "production" };
 * await catalog.reserve(scope, key.key, "exec-1/train", 30_000);   // { acquired: true }
 * await catalog.reserve(scope, key.key, "exec-2/train", 30_000);   // { acquired: false, owner: "exec-1/train", expiresAt }
 * (await catalog.lookup(scope, key, blobs)).reason;                  // "no cached result for task train yet"
 * ```
 */
export * from "./types.js";
export { openCatalog } from "./open-catalog.js";
export { awaitReservation } from "./await-reservation.js";
export { DEFAULT_CATALOG_POOL_SIZE, DEFAULT_CATALOG_SCHEMA } from "./postgres.js";
export { DEFAULT_REDIS_PREFIX } from "./redis.js";
