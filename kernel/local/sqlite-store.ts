/**
 * A keyv store adapter over better-sqlite3: the embedded default for the cache.
 * keyv's own SQLite adapter is 10-150x slower; prepared statements on one
 * connection with WAL make a hit a few microseconds.
 */
import { EventEmitter } from "node:events";
import { mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname } from "node:path";
import type BetterSqlite3 from "better-sqlite3";
import type { KeyvStoreAdapter } from "keyv";

// Loaded on first use: importing Petrel (a task runtime loading a bundle, a CLI) must
// not pay for the native addon unless a local cache is opened.
let Database: typeof BetterSqlite3 | undefined;

/** Options of the SQLite keyv store. */
export interface SqliteStoreOptions {
  /** Database file; ":memory:" for a throwaway store. */
  path: string;
  table?: string;
}

/** Creates a keyv store adapter backed by one SQLite file. */
export function createSqliteStore(options: SqliteStoreOptions): KeyvStoreAdapter & { close(): void } {
  if (options.path !== ":memory:") mkdirSync(dirname(options.path), { recursive: true });
  const table = options.table ?? "keyv";
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(table)) throw new Error(`invalid table name ${JSON.stringify(table)}`);
  Database ??= createRequire(import.meta.url)("better-sqlite3") as typeof BetterSqlite3;
  const db = new Database(options.path);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = NORMAL");
  // Several processes (a notebook and a script) may share one cache file.
  db.pragma("busy_timeout = 5000");
  db.exec(`CREATE TABLE IF NOT EXISTS ${table} (key TEXT PRIMARY KEY, value TEXT NOT NULL)`);
  const get = db.prepare<[string], { value: string }>(`SELECT value FROM ${table} WHERE key = ?`);
  const set = db.prepare(`INSERT INTO ${table} (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value`);
  const del = db.prepare(`DELETE FROM ${table} WHERE key = ?`);
  const clearNs = db.prepare(`DELETE FROM ${table} WHERE key LIKE ? ESCAPE '\\'`);
  const emitter = new EventEmitter();
  const store = {
    opts: { dialect: "sqlite", path: options.path },
    namespace: undefined as string | undefined,
    on(event: string, listener: (...args: unknown[]) => void) {
      emitter.on(event, listener);
      return store;
    },
    get<Value>(key: string): Promise<Value | undefined> {
      return Promise.resolve(get.get(key)?.value as Value | undefined);
    },
    set(key: string, value: unknown): Promise<boolean> {
      set.run(key, typeof value === "string" ? value : JSON.stringify(value));
      return Promise.resolve(true);
    },
    delete(key: string): Promise<boolean> {
      return Promise.resolve(del.run(key).changes > 0);
    },
    clear(): Promise<void> {
      const prefix = store.namespace ? `${store.namespace.replace(/[\\%_]/g, "\\$&")}:%` : "%";
      clearNs.run(prefix);
      return Promise.resolve();
    },
    has(key: string): Promise<boolean> {
      return Promise.resolve(get.get(key) !== undefined);
    },
    close() {
      db.close();
    },
  };
  return store as unknown as KeyvStoreAdapter & { close(): void };
}
