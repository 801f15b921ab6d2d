import pg from "pg";
import { afterAll, describe, it } from "vitest";
import { createPostgresStore } from "../../backend/index.js";
import { dropSchemas, newSchema, POSTGRES_URL, postgresUnavailable } from "./postgres.js";
import { metadataStoreContract } from "./store.contract.js";

const unavailable = await postgresUnavailable();

if (unavailable) {
  describe.skip(`MetadataStore contract: PostgreSQL — skipped: ${unavailable}`, () => {
    it("needs PostgreSQL", () => undefined);
  });
} else {
  // One schema for the file, emptied before each test: migrating a new schema per test would cost seconds,
  // and DELETE of a few rows is much cheaper than TRUNCATE.
  const schema = newSchema();
  const admin = new pg.Client({ connectionString: POSTGRES_URL });
  await admin.connect();
  afterAll(async () => {
    await admin.end();
    await dropSchemas();
  });
  const CHILDREN_FIRST = ["schedule_runs", "schedule_state", "execution_labels", "node_attempts", "node_executions", "executions", "promotions", "entities", "project_blobs", "tokens", "projects"];
  const empty = () => admin.query(CHILDREN_FIRST.map((t) => `DELETE FROM "${schema}"."${t}";`).join("\n"));
  metadataStoreContract("PostgreSQL", () => ({
    async fresh(clock) {
      const store = await createPostgresStore({ url: POSTGRES_URL, schema, clock });
      await empty();
      return store;
    },
    reopen: (clock) => createPostgresStore({ url: POSTGRES_URL, schema, clock }),
  }));
}
