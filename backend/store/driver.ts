/**
 * The little SQL both databases speak. The store is written once against this
 * interface; each driver turns `?` placeholders and result rows into its own
 * dialect and maps unique-key violations to one error.
 */

/** A SQL parameter. */
export type SqlValue = string | number | null;

/** A connection (or a transaction on one) that runs statements. */
export interface SqlDriver {
  readonly dialect: "sqlite" | "postgres";
  /** Rows of a query. */
  all<T>(sql: string, params?: readonly SqlValue[]): Promise<T[]>;
  /** The first row of a query. */
  get<T>(sql: string, params?: readonly SqlValue[]): Promise<T | undefined>;
  /** A statement's changed-row count. */
  run(sql: string, params?: readonly SqlValue[]): Promise<number>;
  /** Several statements without parameters (DDL). */
  exec(sql: string): Promise<void>;
  /** Runs `fn` in a transaction; nested calls run inside the outer one. */
  transaction<T>(fn: (tx: SqlDriver) => Promise<T>): Promise<T>;
  /** ` FOR UPDATE` where row locks exist (PostgreSQL); "" where a transaction already holds the write lock (SQLite). */
  readonly forUpdate: string;
  /** Serializes migrations between processes (PostgreSQL advisory lock; SQLite's write lock already does). */
  lockForMigration(tx: SqlDriver): Promise<void>;
  close(): Promise<void>;
}

/** Thrown by drivers when a unique or primary key is violated. */
export class UniqueViolation extends Error {
  override name = "UniqueViolation";
}

/** Thrown by drivers when the database aborted a transaction that may succeed if retried (deadlock, serialization failure). */
export class RetryableConflict extends Error {
  override name = "RetryableConflict";
}
