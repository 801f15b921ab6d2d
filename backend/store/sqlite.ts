/**
 * SQLite through better-sqlite3: one connection in WAL mode, prepared statements
 * cached by text. better-sqlite3 is synchronous, so a transaction whose callback
 * awaits would let other requests' statements slip into it; transactions are
 * therefore queued, and statements outside a transaction wait for the open one.
 */
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import type { Clock } from "../clock.js";
import { UniqueViolation, type SqlDriver, type SqlValue } from "./driver.js";
import { openSqlStore } from "./sql-store.js";
import type { MetadataStore } from "./types.js";

/** Options of {@link createSqliteStore}. */
export interface SqliteStoreOptions {
  /** Database file; `:memory:` for a private in-memory database. */
  path: string;
  clock?: Clock;
  /** Milliseconds to wait for another process's write lock (default 5000). */
  busyTimeoutMs?: number;
}

/** The default busy timeout: a second server process on the same file waits rather than failing. */
export const DEFAULT_SQLITE_BUSY_TIMEOUT_MS = 5000;

/**
 * Opens (creating and migrating as needed) a SQLite metadata store.
 *
 * @example
 * ```ts
 * const store = await createSqliteStore({ path: "/var/lib/petrel/petrel.sqlite" });
 * await store.getProject("demo");
 * ```
 */
export async function createSqliteStore(options: SqliteStoreOptions): Promise<MetadataStore> {
  if (options.path !== ":memory:") mkdirSync(dirname(options.path), { recursive: true });
  const db = new Database(options.path);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = NORMAL");
  db.pragma("foreign_keys = ON");
  db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? DEFAULT_SQLITE_BUSY_TIMEOUT_MS}`);
  return openSqlStore(new SqliteDriver(db), options.clock);
}

const UNIQUE_CODES = new Set(["SQLITE_CONSTRAINT_UNIQUE", "SQLITE_CONSTRAINT_PRIMARYKEY"]);

class SqliteDriver implements SqlDriver {
  readonly dialect = "sqlite" as const;
  readonly forUpdate = "";
  private readonly statements = new Map<string, Database.Statement>();
  /** Settles when the last queued transaction has finished. */
  private tail: Promise<void> = Promise.resolve();
  private open = false;
  private readonly inTx: SqlDriver;

  constructor(private readonly db: Database.Database) {
    // The view a transaction's callback uses: runs at once, joins nested transactions.
    this.inTx = {
      dialect: "sqlite",
      forUpdate: "",
      all: async (sql, params) => this.allNow(sql, params),
      get: async (sql, params) => this.getNow(sql, params),
      run: async (sql, params) => this.runNow(sql, params),
      exec: async (sql) => void this.db.exec(sql),
      transaction: (fn) => fn(this.inTx),
      lockForMigration: async () => undefined,
      close: async () => undefined,
    };
  }

  private statement(sql: string): Database.Statement {
    let s = this.statements.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.statements.set(sql, s);
    }
    return s;
  }

  private allNow<T>(sql: string, params: readonly SqlValue[] = []): T[] {
    return wrap(() => this.statement(sql).all(...params) as T[]);
  }
  private getNow<T>(sql: string, params: readonly SqlValue[] = []): T | undefined {
    return wrap(() => this.statement(sql).get(...params) as T | undefined);
  }
  private runNow(sql: string, params: readonly SqlValue[] = []): number {
    return wrap(() => this.statement(sql).run(...params).changes);
  }

  private async idle(): Promise<void> {
    while (this.open) await this.tail;
  }

  async all<T>(sql: string, params?: readonly SqlValue[]): Promise<T[]> {
    if (this.open) await this.idle();
    return this.allNow<T>(sql, params);
  }
  async get<T>(sql: string, params?: readonly SqlValue[]): Promise<T | undefined> {
    if (this.open) await this.idle();
    return this.getNow<T>(sql, params);
  }
  async run(sql: string, params?: readonly SqlValue[]): Promise<number> {
    if (this.open) await this.idle();
    return this.runNow(sql, params);
  }
  async exec(sql: string): Promise<void> {
    if (this.open) await this.idle();
    this.db.exec(sql);
  }

  async transaction<T>(fn: (tx: SqlDriver) => Promise<T>): Promise<T> {
    const previous = this.tail;
    let release!: () => void;
    this.tail = new Promise((resolve) => (release = resolve));
    await previous;
    this.open = true;
    try {
      this.db.exec("BEGIN IMMEDIATE");
      try {
        const result = await fn(this.inTx);
        this.db.exec("COMMIT");
        return result;
      } catch (error) {
        if (this.db.inTransaction) this.db.exec("ROLLBACK");
        throw error;
      }
    } finally {
      this.open = false;
      release();
    }
  }

  async lockForMigration(): Promise<void> {}

  async close(): Promise<void> {
    await this.idle();
    this.db.close();
  }
}

function wrap<T>(fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    if (UNIQUE_CODES.has((error as { code?: string }).code ?? "")) throw new UniqueViolation((error as Error).message);
    throw error;
  }
}
