import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll } from "vitest";
import { createSqliteStore } from "../../backend/index.js";
import { metadataStoreContract } from "./store.contract.js";

const dirs: string[] = [];
let last = "";
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

metadataStoreContract("SQLite", () => ({
  async fresh(clock) {
    const dir = mkdtempSync(join(tmpdir(), "petrel-store-"));
    dirs.push(dir);
    last = join(dir, "petrel.sqlite");
    return createSqliteStore({ path: last, clock });
  },
  reopen: (clock) => createSqliteStore({ path: last, clock }),
}));
