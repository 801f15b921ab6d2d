/**
 * The embedded catalog: one SQLite file. Entries go through the kernel's keyv
 * store over better-sqlite3 (the same adapter the local engine's cache uses);
 * reservations live in a table of the same file, taken in an IMMEDIATE
 * transaction so that every process sharing the file sees one winner.
 */
import Database from "better-sqlite3";
import { createSqliteStore } from "../../kernel/index.js";
import type { BlobStore } from "../blobs/index.js";
import type { Clock } from "../clock.js";
import { createCatalogKeyv, createKeyvCatalog } from "./keyv-catalog.js";
import type { Catalog, CatalogScope, ReserveResult } from "./types.js";

/** The keyv table of the entries. */
export const SQLITE_ENTRIES_TABLE = "catalog_entries";
/** The table of the reservations. */
export const SQLITE_RESERVATIONS_TABLE = "catalog_reservations";
/** How long a writer waits for another process's write lock before failing. */
const BUSY_TIMEOUT_MS = 5_000;

interface Row {
  project: string;
  domain: string;
  key: string;
  owner: string;
  expiresAt: number;
  now: number;
}

/**
 * Opens the catalog in a SQLite file (created with its directory when missing).
 * `:memory:` gives a throwaway catalog whose reservations are private to this instance.
 */
export function openSqliteCatalog(path: string, clock: Clock, blobs?: BlobStore): Catalog {
  const entries = createSqliteStore({ path, table: SQLITE_ENTRIES_TABLE });
  let db: Database.Database;
  try {
    db = new Database(path);
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = NORMAL");
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    db.exec(`CREATE TABLE IF NOT EXISTS ${SQLITE_RESERVATIONS_TABLE} (
      project TEXT NOT NULL, domain TEXT NOT NULL, key TEXT NOT NULL,
      owner TEXT NOT NULL, expires_at INTEGER NOT NULL,
      PRIMARY KEY (project, domain, key)) WITHOUT ROWID`);
  } catch (error) {
    entries.close();
    throw error;
  }
  const table = SQLITE_RESERVATIONS_TABLE;
  const where = "project = @project AND domain = @domain AND key = @key";
  // Takes a free, expired or own reservation; RETURNING yields nothing when another owner's live one stays.
  const upsert = db.prepare<Row, { owner: string }>(
    `INSERT INTO ${table} (project, domain, key, owner, expires_at) VALUES (@project, @domain, @key, @owner, @expiresAt)
     ON CONFLICT (project, domain, key) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
     WHERE ${table}.owner = excluded.owner OR ${table}.expires_at <= @now
     RETURNING owner`,
  );
  const holder = db.prepare<Pick<Row, "project" | "domain" | "key">, { owner: string; expiresAt: number }>(
    `SELECT owner, expires_at AS expiresAt FROM ${table} WHERE ${where}`,
  );
  const extend = db.prepare<Row>(`UPDATE ${table} SET expires_at = @expiresAt WHERE ${where} AND owner = @owner AND expires_at > @now`);
  const drop = db.prepare<Pick<Row, "project" | "domain" | "key" | "owner">>(`DELETE FROM ${table} WHERE ${where} AND owner = @owner`);
  // IMMEDIATE takes the write lock first, so the holder read after a refused upsert is the row that refused it.
  const reserveTx = db.transaction((row: Row): ReserveResult => {
    if (upsert.get(row)) return { acquired: true };
    const current = holder.get(row)!;
    return { acquired: false, owner: current.owner, expiresAt: current.expiresAt };
  });
  const row = (scope: CatalogScope, key: string, owner: string, ttlMs: number): Row => {
    const now = clock.now();
    return { project: scope.project, domain: scope.domain, key, owner, expiresAt: now + ttlMs, now };
  };

  return createKeyvCatalog({
    kind: "sqlite",
    where: path,
    keyv: createCatalogKeyv(entries),
    keyPrefix: "",
    blobs,
    reservations: {
      reserve: async (scope, key, owner, ttlMs) => reserveTx.immediate(row(scope, key, owner, ttlMs)),
      heartbeat: async (scope, key, owner, ttlMs) => extend.run(row(scope, key, owner, ttlMs)).changes > 0,
      release: async (scope, key, owner) => {
        drop.run({ project: scope.project, domain: scope.domain, key, owner });
      },
    },
    close: async () => {
      db.close();
      entries.close();
    },
  });
}
