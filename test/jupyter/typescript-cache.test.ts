// The kernel keeps TypeScript's edited source under $XDG_CACHE_HOME/petrel/kernel
// (kernel/jupyter/typescript-load.ts), so that later kernels load the compiler
// without decoding and editing its 9 MB again. Each run here is a fresh Node
// process, as a kernel is: the first one writes the file, the next ones use it as
// it is, and one that is corrupt costs time only: cells compile, and it is written again.
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

/** Runs the notebook in a fresh Node with the kernel's flags and returns what its last cell showed. */
function shown(): string {
  const r = runNotebookInNode(notebook, kernelNodeFlags());
  expect(r.status, r.stderr).toBe(0);
  return r.stdout.trim();
}

/** The cached source: its path and modification time. */
function cachedSource(): { file: string; mtimeMs: number } {
  const files = readdirSync(cacheDir).filter((f) => f.startsWith("typescript-") && f.endsWith(".js"));
  expect(files).toHaveLength(1);
  const file = join(cacheDir, files[0]!);
  return { file, mtimeMs: statSync(file).mtimeMs };
}

describe("the kernel's cached TypeScript source", () => {
  it("is written by the first kernel, edited, in ASCII and sealed, and used as it is by the next", () => {
    expect(shown()).toBe("'2 3'");
    const first = cachedSource();
    const source = readFileSync(first.file, "latin1");
    expect(source).toContain("var noIterationTypes = petrelNoIterationTypes;");
    expect(source).toContain("ts_exports3.petrelParsing = petrelParsing;");
    expect(/[^\x00-\x7f]/.test(source)).toBe(false);
    expect(source).toMatch(/\n\/\/# petrel-sha256=[0-9a-f]{64}\n$/);

    expect(shown()).toBe("'2 3'");
    expect(cachedSource()).toEqual(first);
  }, 120_000);

  it("costs only time when corrupt: cells compile, and it is written again", () => {
    const { file } = cachedSource();
    const good = readFileSync(file);
    // One byte changed, the length kept: the seal no longer matches.
    const bad = Buffer.from(good);
    bad.write("x", bad.indexOf("function createTypeChecker(host)"), "latin1");
    writeFileSync(file, bad);
    expect(shown()).toBe("'2 3'");
    expect(readFileSync(file).equals(good)).toBe(true);

    writeFileSync(file, good.subarray(0, good.length / 2));
    expect(shown()).toBe("'2 3'");
    expect(readFileSync(file).equals(good)).toBe(true);
  }, 120_000);
});
