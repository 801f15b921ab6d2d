/**
 * The catalog in PostgreSQL: entries through @keyv/postgres, reservations in a
 * table of the same schema, each taken by one INSERT ... ON CONFLICT DO UPDATE
 * ... WHERE statement, which PostgreSQL evaluates against the locked, newest
 * row, so concurrent reservers on any number of backends see one winner.
 *
 * @keyv/postgres keeps one module-wide pool per URL and ends it on any
 * instance's disconnect; the catalog hands it its own pool instead, so catalogs
 * (and tests) open and close independently.
 */
import type pg from "pg";
import type { KeyvPostgresOptions } from "@keyv/postgres";
import type { BlobStore } from "../blobs/index.js";
import type { Clock } from "../clock.js";
import { createCatalogKeyv, createKeyvCatalog, redactUrl } from "./keyv-catalog.js";
import { CATALOG_ERRORS, CATALOG_SCHEMA_PATTERN, CatalogError, type Catalog, type CatalogScope, type ReserveResult } from "./types.js";

/** Connections per catalog: lookups are single-row reads, so a few go far. */
export const DEFAULT_CATALOG_POOL_SIZE = 5;
/** The schema when none is given (@keyv/postgres's default too). */
export const DEFAULT_CATALOG_SCHEMA = "public";
/** The keyv table of the entries. */
export const POSTGRES_ENTRIES_TABLE = "petrel_catalog_entries";
/** The table of the reservations. */
export const POSTGRES_RESERVATIONS_TABLE = "petrel_catalog_reservations";
/** Entry keys are `<project>/<domain>/latest/<task>` at most: two names and an encoded task name. */
const KEY_SIZE = 2048;
/** Arbitrary, fixed: serializes catalog migrations between backends starting together. */
const MIGRATION_LOCK_KEY = 74_101_303;
/** A refused reservation whose holder vanished before it could be read is retried this often. */
const RESERVE_ATTEMPTS = 10;

/** Opens (creating the schema and tables when missing) the catalog in PostgreSQL. */
export async function openPostgresCatalog(url: string, schema: string | undefined, clock: Clock, blobs?: BlobStore): Promise<Catalog> {
  const shown = redactUrl(url);
  if (!/^postgres(ql)?:\/\//.test(url)) {
    throw new CatalogError(CATALOG_ERRORS.CONFIG, `catalog: expected a postgres:// URL, got ${JSON.stringify(shown)}`, { field: "url" });
  }
  const s = schema ?? DEFAULT_CATALOG_SCHEMA;
  if (!CATALOG_SCHEMA_PATTERN.test(s)) {
    throw new CatalogError(CATALOG_ERRORS.CONFIG, `catalog: schema ${JSON.stringify(s)} is not a lowercase identifier (${CATALOG_SCHEMA_PATTERN.source})`, { field: "schema" });
  }
  // Loaded on first use: an embedded catalog never pays for the drivers.
  const [{ default: pgModule }, { KeyvPostgres }] = await Promise.all([import("pg"), import("@keyv/postgres")]);
  const pool = new pgModule.Pool({ connectionString: url, max: DEFAULT_CATALOG_POOL_SIZE });
  // An idle client that loses its connection emits on the pool; without a listener that would crash the process.
  pool.on("error", () => undefined);
  const entries = `"${s}".${POSTGRES_ENTRIES_TABLE}`;
  const reservations = `"${s}".${POSTGRES_RESERVATIONS_TABLE}`;
  try {
    await migrate(pool, s, entries, reservations);
  } catch (error) {
    await pool.end();
    throw new CatalogError(CATALOG_ERRORS.UNAVAILABLE, `catalog: cannot open PostgreSQL at ${shown}: ${(error as Error).message}`, { kind: "postgres" }, { cause: error });
  }

  /** @keyv/postgres on the catalog's pool: `connect()` is the adapter's one way to the database. */
  class PooledKeyvPostgres extends KeyvPostgres {
    override async connect() {
      return async (sql: string, values?: unknown[]) => (await pool.query(sql, values)).rows;
    }
    override async disconnect() {
      // The catalog ends its pool itself.
    }
  }
  const store = new PooledKeyvPostgres({ uri: url, schema: s, table: POSTGRES_ENTRIES_TABLE, keySize: KEY_SIZE } satisfies KeyvPostgresOptions);
  const key = "project = $1 AND domain = $2 AND key = $3";

  const reserve = async (scope: CatalogScope, k: string, owner: string, ttlMs: number): Promise<ReserveResult> => {
    for (let attempt = 0; attempt < RESERVE_ATTEMPTS; attempt++) {
      const now = clock.now();
      const taken = await pool.query(
        `INSERT INTO ${reservations} AS r (project, domain, key, owner, expires_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (project, domain, key) DO UPDATE SET owner = EXCLUDED.owner, expires_at = EXCLUDED.expires_at
         WHERE r.owner = EXCLUDED.owner OR r.expires_at <= $6
         RETURNING owner`,
        [scope.project, scope.domain, k, owner, now + ttlMs, now],
      );
      if (taken.rowCount) return { acquired: true };
      const held = await pool.query<{ owner: string; expires_at: string }>(`SELECT owner, expires_at FROM ${reservations} WHERE ${key}`, [scope.project, scope.domain, k]);
      const row = held.rows[0];
      if (row) return { acquired: false, owner: row.owner, expiresAt: Number(row.expires_at) };
      // Released between the two statements: try again.
    }
    throw new CatalogError(CATALOG_ERRORS.UNAVAILABLE, `catalog (postgres): the reservation of ${k} kept changing hands; try again`, { kind: "postgres" });
  };

  return createKeyvCatalog({
    kind: "postgres",
    where: `${shown} schema ${s}`,
    keyv: createCatalogKeyv(store),
    keyPrefix: "",
    blobs,
    reservations: {
      reserve,
      async heartbeat(scope, k, owner, ttlMs) {
        const now = clock.now();
        const r = await pool.query(`UPDATE ${reservations} SET expires_at = $5 WHERE ${key} AND owner = $4 AND expires_at > $6`, [
          scope.project,
          scope.domain,
          k,
          owner,
          now + ttlMs,
          now,
        ]);
        return (r.rowCount ?? 0) > 0;
      },
      async release(scope, k, owner) {
        await pool.query(`DELETE FROM ${reservations} WHERE ${key} AND owner = $4`, [scope.project, scope.domain, k, owner]);
      },
    },
    close: () => pool.end(),
  });
}

/** Creates the schema and both tables once, under an advisory lock so that backends starting together do not race. */
async function migrate(pool: pg.Pool, schema: string, entries: string, reservations: string): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    await client.query(`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`);
    await client.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
    // The same shape @keyv/postgres creates, with room for the catalog's longer keys.
    await client.query(`CREATE TABLE IF NOT EXISTS ${entries} (key VARCHAR(${KEY_SIZE}) PRIMARY KEY, value TEXT)`);
    await client.query(`CREATE TABLE IF NOT EXISTS ${reservations} (
      project TEXT NOT NULL, domain TEXT NOT NULL, key TEXT NOT NULL,
      owner TEXT NOT NULL, expires_at BIGINT NOT NULL,
      PRIMARY KEY (project, domain, key))`);
    await client.query("COMMIT");
  } catch (error) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}
