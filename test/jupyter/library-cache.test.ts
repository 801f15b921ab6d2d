/**
 * The kernel keeps the layout of its bundled libraries (which lib and @types/node
 * files, in which order) between kernels, under $XDG_CACHE_HOME/petrel/kernel. A
 * cache that is missing, corrupt or names files that are gone must cost time only:
 * cells still compile, and the cache is written again.
 */
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runNotebook } from "../../kernel/jupyter/index.js";
import { resultText, writeNotebook } from "./jupyter-env.js";

let dir: string;
let cacheHome: string;
const previous = process.env.XDG_CACHE_HOME;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "petrel-library-cache-"));
  cacheHome = mkdtempSync(join(tmpdir(), "petrel-cache-home-"));
  process.env.XDG_CACHE_HOME = cacheHome;
  writeNotebook(join(dir, "uses-libs.ipynb"), ["const xs: number[] = [3, 1, 2];\n`${xs.findLast((x) => x > 1)} ${process.platform.length > 0}`"]);
});

afterAll(() => {
  if (previous === undefined) delete process.env.XDG_CACHE_HOME;
  else process.env.XDG_CACHE_HOME = previous;
});

/** Runs the notebook in a fresh session and returns what its cell showed (or its error). */
async function shown(): Promise<string> {
  const run = await runNotebook(join(dir, "uses-libs.ipynb"));
  try {
    if (run.error) return `${run.error.ename}: ${run.error.evalue}`;
    return String(resultText(run.notebook.cells[0]!.outputs!));
  } finally {
    run.close();
  }
}

function layoutFile(): string {
  const files = readdirSync(join(cacheHome, "petrel", "kernel")).filter((f) => f.startsWith("libraries-"));
  expect(files).toHaveLength(1);
  return join(cacheHome, "petrel", "kernel", files[0]!);
}

describe("the kernel's library layout cache", () => {
  it("is written by the first kernel, with TypeScript's lib and @types/node in load order", async () => {
    expect(await shown()).toBe("'2 true'");
    const layout = JSON.parse(readFileSync(layoutFile(), "utf8")) as { scripts: string[]; modules: string[] };
    const es5 = layout.scripts.findIndex((f) => f.endsWith("/lib.es5.d.ts"));
    expect(es5).toBeGreaterThanOrEqual(0);
    expect(layout.scripts.findIndex((f) => f.endsWith("/lib.es2023.array.d.ts"))).toBeGreaterThan(es5);
    expect(layout.scripts.some((f) => /@types\/node\/(ts5\.6\/)?globals\.d\.ts$/.test(f))).toBe(true);
  }, 60_000);

  it("costs only time when corrupt or stale: cells compile and the layout is written again", async () => {
    const file = layoutFile();
    writeFileSync(file, "{ not json");
    expect(await shown()).toBe("'2 true'");
    expect(() => JSON.parse(readFileSync(file, "utf8")) as unknown).not.toThrow();

    writeFileSync(file, JSON.stringify({ scripts: ["/nowhere/lib.gone.d.ts"], modules: [] }));
    expect(await shown()).toBe("'2 true'");
    expect(readFileSync(file, "utf8")).toContain("lib.es5.d.ts");
  }, 60_000);
});
