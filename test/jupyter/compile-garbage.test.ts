// A cell's compile (program, type checker, emit) is garbage once the cell has
// compiled, and must die in V8's young generation: when it survived until a full
// collection, scavenges took 20 ms every 30 cells or so. The cells run in a child
// Node started with the kernelspec's own flags, measuring themselves: old-generation
// growth per cell across young-generation collections only.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { kernelNodeFlags, runNotebookInNode, writeNotebook } from "./jupyter-env.js";

const CELLS = 150;
/** Kilobytes per cell: about 10–30 with the fixes, about 260 without. */
const LIMIT_KB = 100;

describe("a cell's compile", () => {
  it("leaves little in the old generation once young-generation collections have run", () => {
    const dir = mkdtempSync(join(tmpdir(), "petrel-compile-garbage-"));
    const warm = Array.from({ length: 100 }, (_, i) => (i % 2 ? "1 + 1" : `const w${i} = ${i};`));
    const measured = Array.from({ length: CELLS }, (_, i) => (i % 2 ? "1 + 1" : `function f${i}(x: number): number {\n  return x * ${i};\n}`));
    const old = 'require("node:v8").getHeapSpaceStatistics().find((s) => s.space_name === "old_space").space_used_size';
    writeNotebook(join(dir, "cells.ipynb"), [
      ...warm,
      `gc(); gc();\nglobalThis.before = ${old};`,
      ...measured,
      `for (let i = 0; i < 3; i++) gc({ type: "minor" });\nMath.round((${old} - globalThis.before) / ${CELLS + 1} / 1024)`,
    ]);
    const r = runNotebookInNode(join(dir, "cells.ipynb"), [...kernelNodeFlags(), "--expose-gc"]);
    expect(r.status, r.stderr).toBe(0);
    const kbPerCell = Number(r.stdout.trim().split("\n").at(-1));
    console.log(`old-generation growth across scavenges: ${kbPerCell} KB per cell`);
    expect(kbPerCell).toBeGreaterThanOrEqual(0);
    expect(kbPerCell).toBeLessThan(LIMIT_KB);
  }, 300_000);
});
