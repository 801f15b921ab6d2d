/**
 * Shared by the runtime and runner suites: the fixtures' bundle, project
 * directories that have (or lack) the packages it imports, assignments, and an
 * Arrow table as a literal.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Float64, Table, Utf8, vectorFromArray } from "apache-arrow";
import { buildBundle, createTypeEngine, type BlobAccess, type Bundle, type Literal } from "../../kernel/index.js";
import type { AttemptAssignment } from "../../kernel/runtime/index.js";
import * as fixtures from "./fixtures/tasks.js";

export const PROJECT_ROOT = fileURLToPath(new URL("../..", import.meta.url));
export const FIXTURES = join(PROJECT_ROOT, "test", "runtime", "fixtures", "tasks.ts");

let built: Bundle | undefined;
/** The bundle of test/runtime/fixtures/tasks.ts (built once per test file). */
export function fixturesBundle(): Bundle {
  return (built ??= buildBundle(fixtures, { entry: FIXTURES }));
}

const dirs: string[] = [];
/** A temp directory, removed by `removeTempDirs()`. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}
export function removeTempDirs(): void {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** A project directory whose node_modules link these packages from this repository (the bundle's imports resolve there). */
export function projectDir(packages: readonly string[] = ["apache-arrow"]): string {
  const dir = tempDir("petrel-runtime-project-");
  mkdirSync(join(dir, "node_modules"));
  for (const name of packages) symlinkSync(join(PROJECT_ROOT, "node_modules", name), join(dir, "node_modules", name), "dir");
  return dir;
}

/** An assignment of attempt 0 of node `task` (node ids in the suite workflow are the task names). */
export function assignmentFor(task: string, bundle: string, overrides: Partial<AttemptAssignment> = {}): AttemptAssignment {
  return {
    execution: { project: "demo", domain: "development", name: "e1" },
    node: task,
    attempt: 0,
    maxAttempts: 1,
    task: { resourceType: "task", project: "demo", domain: "development", name: task, version: bundle },
    bundle,
    ...overrides,
  };
}

export const int = (n: number): Literal => ({ kind: "int", value: String(n) });
export const str = (s: string): Literal => ({ kind: "string", value: s });
export const float = (x: number): Literal => ({ kind: "float", value: x });

/** x = 1.5, 2.5, 3.5 and name = a, b, c, as an Arrow blob literal stored in `blobs`. */
export function arrowInput(blobs: BlobAccess): Literal {
  const table = new Table({ x: vectorFromArray([1.5, 2.5, 3.5], new Float64()), name: vectorFromArray(["a", "b", "c"], new Utf8()) });
  return createTypeEngine().toLiteral(table, { kind: "dataframe" }, { blobs, where: "test input" });
}

/** Polls until `check` returns something truthy, or fails naming `what`. */
export async function eventually<T>(what: string, check: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 20_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
