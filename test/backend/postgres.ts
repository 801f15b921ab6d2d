// PostgreSQL for tests: the server on 127.0.0.1:5432 (NOTES.md). In CI it must
// be there; elsewhere the PostgreSQL suites skip with a one-line reason. Each
// test run works in schemas of its own and drops them afterwards.
import pg from "pg";

/** The database the suites use; PETREL_TEST_POSTGRES_URL overrides it. */
export const POSTGRES_URL = process.env.PETREL_TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/test";

/** Undefined when PostgreSQL answers; otherwise why not. In CI an unreachable server is an error, not a skip. */
export async function postgresUnavailable(): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 3_000 });
  try {
    await client.connect();
    await client.query("SELECT 1");
    return undefined;
  } catch (error) {
    const reason = `PostgreSQL at ${POSTGRES_URL} is unreachable (${(error as Error).message})`;
    if (process.env.CI === "true") throw new Error(`${reason}; CI requires it`);
    return reason;
  } finally {
    await client.end().catch(() => undefined);
  }
}

let counter = 0;
const created: string[] = [];

/** A new schema name for this run (the store creates it). */
export function newSchema(): string {
  const name = `petrel_test_${process.pid}_${Date.now().toString(36)}_${counter++}`;
  created.push(name);
  return name;
}

/** Drops every schema this process made. */
export async function dropSchemas(): Promise<void> {
  if (created.length === 0) return;
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  try {
    for (const s of created.splice(0)) await client.query(`DROP SCHEMA IF EXISTS "${s}" CASCADE`);
  } finally {
    await client.end();
  }
}
