// The kernel keeps TypeScript's edited source and V8's code cache of it under
// $XDG_CACHE_HOME/petrel/kernel (kernel/jupyter/typescript-load.ts), so that later
// kernels load the compiler faster. Each run here is a fresh Node process, as a
// kernel is: the first one writes both files, the next ones use them as they are,
// and a cache that is corrupt costs time only: cells compile, and it is written again.
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { kernelNodeFlags, runNotebookInNode, writeNotebook } from "./jupyter-env.js";

let notebook: string;
let cacheDir: string;
const previous = process.env.XDG_CACHE_HOME;

beforeAll(() => {
  const dir = mkdtempSync(join(tmpdir(), "petrel-typescript-cache-"));
  const cacheHome = mkdtempSync(join(tmpdir(), "petrel-cache-home-"));
  cacheDir = join(cacheHome, "petrel", "kernel");
  process.env.XDG_CACHE_HOME = cacheHome;
  notebook = join(dir, "cells.ipynb");
  writeNotebook(notebook, ["const xs: number[] = [3, 1, 2];", "`${xs.findLast((x) => x < 3)} ${Math.max(...xs)}`"]);
});

afterAll(() => {
  if (previous === undefined) delete process.env.XDG_CACHE_HOME;
  else process.env.XDG_CACHE_HOME = previous;
});

/** Runs the notebook in a fresh Node and returns what its last cell showed. */
function shown(flags: readonly string[]): string {
  const r = runNotebookInNode(notebook, flags);
  expect(r.status, r.stderr).toBe(0);
  return r.stdout.trim();
}

/** The cache's TypeScript files (name → modification time). */
function cached(): Map<string, number> {
  const files = readdirSync(cacheDir).filter((f) => f.startsWith("typescript-") && !f.endsWith(".tmp"));
  return new Map(files.map((f) => [f, statSync(join(cacheDir, f)).mtimeMs]));
}

const one = (files: Map<string, number>, ending: string): string => {
  const names = [...files.keys()].filter((f) => f.endsWith(ending));
  expect(names).toHaveLength(1);
  return join(cacheDir, names[0]!);
};

describe("the kernel's TypeScript cache", () => {
  const flags = kernelNodeFlags();

  it("is written by the first kernel and used as it is by the next", () => {
    expect(shown(flags)).toBe("'2 3'");
    const first = cached();
    const source = readFileSync(one(first, ".js"), "latin1");
    expect(source).toContain("function createTypeChecker(host)");
    // ASCII throughout (read back as one-byte text), sealed with its hash on the last line.
    expect(/[^\x00-\x7f]/.test(source)).toBe(false);
    expect(source).toMatch(/\n\/\/# petrel-sha256=[0-9a-f]{64}\n$/);
    expect(statSync(one(first, ".v8cache")).size).toBeGreaterThan(100_000);

    // V8 accepted the code cache: a rejected one would have been written again.
    expect(shown(flags)).toBe("'2 3'");
    expect(cached()).toEqual(first);
  }, 120_000);

  it("keeps one code cache per set of V8 flags, and one edited source for all", () => {
    const before = cached();
    expect(shown([])).toBe("'2 3'");
    const after = cached();
    expect([...after.keys()].filter((f) => f.endsWith(".js"))).toEqual([...before.keys()].filter((f) => f.endsWith(".js")));
    expect([...after.keys()].filter((f) => f.endsWith(".v8cache"))).toHaveLength(2);
    // The kernel's own code cache is still the one it uses.
    expect(shown(flags)).toBe("'2 3'");
    expect(cached()).toEqual(after);
  }, 120_000);

  it("costs only time when corrupt: cells compile, and each file is written again", () => {
    const files = cached();
    const sourceFile = one(files, ".js");
    const good = readFileSync(sourceFile);
    // One byte changed, the length kept: the seal no longer matches.
    const bad = Buffer.from(good);
    const at = bad.indexOf("function createTypeChecker(host)");
    bad.write("x", at, "latin1");
    writeFileSync(sourceFile, bad);
    const v8cache = [...files.keys()].filter((f) => f.endsWith(".v8cache")).map((f) => join(cacheDir, f));
    for (const file of v8cache) writeFileSync(file, "not a code cache");

    expect(shown(flags)).toBe("'2 3'");
    expect(readFileSync(sourceFile).equals(good)).toBe(true);
    const kernelCache = v8cache.find((f) => statSync(f).size > 100_000);
    expect(kernelCache).toBeDefined();
    expect(v8cache.filter((f) => statSync(f).size > 100_000)).toHaveLength(1);
  }, 120_000);
});
