/**
 * PostgreSQL through node-postgres: a pool, named prepared statements (each
 * connection prepares a statement once), BIGINT read back as numbers (every
 * BIGINT here is epoch milliseconds or a sequence, far below 2^53), and an
 * optional schema so several stores (or test runs) share one database.
 */
import { createHash } from "node:crypto";
import type pg from "pg";
import type { Clock } from "../clock.js";
import { RetryableConflict, UniqueViolation, type SqlDriver, type SqlValue } from "./driver.js";
import { STORE_ERRORS, StoreError } from "./errors.js";
import { openSqlStore } from "./sql-store.js";
import type { MetadataStore } from "./types.js";

/** Options of {@link createPostgresStore}. */
export interface PostgresStoreOptions {
  /** `postgres://user@host:port/db` (or `postgresql://`). */
  url: string;
  /** Schema to keep the tables in (created when missing); default the connection's search_path. */
  schema?: string;
  /** Pool size (default 10). */
  maxConnections?: number;
  clock?: Clock;
}

/** Default pool size: enough for a busy API on a few cores without crowding the database. */
export const DEFAULT_POSTGRES_POOL_SIZE = 10;

/** Schema names the store accepts: plain identifiers, so they can be quoted without escaping surprises. */
const SCHEMA_PATTERN = /^[a-z_][a-z0-9_]{0,62}$/;
const INT8_OID = 20;
/** Arbitrary, fixed: the advisory lock every Petrel server takes while migrating. */
const MIGRATION_LOCK_KEY = 74_101_202;

/**
 * Opens (migrating as needed) a PostgreSQL metadata store.
 *
 * @example
 * ```ts
 * const store = await createPostgresStore({ url: "postgres://postgres@127.0.0.1:5432/petrel" });
 * ```
 */
export async function createPostgresStore(options: PostgresStoreOptions): Promise<MetadataStore> {
  if (!/^postgres(ql)?:\/\//.test(options.url)) {
    throw new StoreError(STORE_ERRORS.CONFIG, `db: expected a postgres:// URL, got ${JSON.stringify(redact(options.url))}`, { field: "db" });
  }
  if (options.schema !== undefined && !SCHEMA_PATTERN.test(options.schema)) {
    throw new StoreError(STORE_ERRORS.CONFIG, `schema: ${JSON.stringify(options.schema)} is not a lowercase identifier`, { field: "schema" });
  }
  // Loaded on first use: an embedded (SQLite) server never pays for the driver.
  const { default: pgModule } = await import("pg");
  const pool = new pgModule.Pool({
    connectionString: options.url,
    max: options.maxConnections ?? DEFAULT_POSTGRES_POOL_SIZE,
    ...(options.schema ? { options: `-c search_path=${options.schema}` } : {}),
    types: {
      getTypeParser: ((oid: number, format?: string) =>
        oid === INT8_OID ? (value: string) => Number(value) : pgModule.types.getTypeParser(oid, format as "text")) as typeof pgModule.types.getTypeParser,
    },
  });
  // An idle client that loses its connection emits on the pool; without a listener that would crash the process.
  pool.on("error", () => undefined);
  try {
    if (options.schema) await pool.query(`CREATE SCHEMA IF NOT EXISTS "${options.schema}"`);
    return await openSqlStore(new PostgresDriver(pool), options.clock);
  } catch (error) {
    await pool.end();
    throw error;
  }
}

/** The URL without its password, for messages. */
export function redact(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@]*@/, "//$1:***@");
}

type Queryable = pg.Pool | pg.PoolClient;

const names = new Map<string, { name: string; text: string }>();

/** `?` placeholders to `$n`, and a stable statement name, computed once per SQL text. */
function prepared(sql: string): { name: string; text: string } {
  let p = names.get(sql);
  if (!p) {
    let n = 0;
    const text = sql.replace(/\?/g, () => `$${++n}`);
    p = { name: `petrel_${createHash("sha1").update(text).digest("hex").slice(0, 16)}`, text };
    names.set(sql, p);
  }
  return p;
}

class PostgresDriver implements SqlDriver {
  readonly dialect = "postgres" as const;
  readonly forUpdate = " FOR UPDATE";
  constructor(
    private readonly pool: pg.Pool,
    private readonly client?: pg.PoolClient,
  ) {}

  private async query<T>(sql: string, params: readonly SqlValue[] = []): Promise<pg.QueryResult<T & pg.QueryResultRow>> {
    const target: Queryable = this.client ?? this.pool;
    const { name, text } = prepared(sql);
    try {
      return await target.query<T & pg.QueryResultRow>({ name, text, values: params as SqlValue[] });
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code === "23505") throw new UniqueViolation((error as Error).message);
      if (code === "40P01" || code === "40001") throw new RetryableConflict((error as Error).message);
      throw error;
    }
  }

  async all<T>(sql: string, params?: readonly SqlValue[]): Promise<T[]> {
    return (await this.query<T>(sql, params)).rows;
  }
  async get<T>(sql: string, params?: readonly SqlValue[]): Promise<T | undefined> {
    return (await this.query<T>(sql, params)).rows[0];
  }
  async run(sql: string, params?: readonly SqlValue[]): Promise<number> {
    return (await this.query(sql, params)).rowCount ?? 0;
  }
  async exec(sql: string): Promise<void> {
    await (this.client ?? this.pool).query(sql);
  }

  async transaction<T>(fn: (tx: SqlDriver) => Promise<T>): Promise<T> {
    if (this.client) return fn(this);
    const client = await this.pool.connect();
    let broken = false;
    try {
      await client.query("BEGIN");
      try {
        const result = await fn(new PostgresDriver(this.pool, client));
        await client.query("COMMIT");
        return result;
      } catch (error) {
        try {
          await client.query("ROLLBACK");
        } catch {
          broken = true;
        }
        throw error;
      }
    } finally {
      client.release(broken);
    }
  }

  async lockForMigration(tx: SqlDriver): Promise<void> {
    await tx.run(`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
