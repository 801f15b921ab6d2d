// The TypeScript compiler runs under a larger V8 interrupt budget than the notebook's
// own code (kernel/jupyter/tiering.ts): under V8's default, TurboFan keeps optimizing
// compiler functions for hundreds of cells, on threads that compete with the cell and
// the client. The same notebook runs in two child Nodes with `--trace-opt`, one with
// the kernelspec's flags and one without its budget, which turns the tiering off. The
// notebook's own hot function, run about 2.5 times what V8's default budget needs to
// optimize it and 6 times less than the compiler's, must be optimized in both.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { kernelNodeFlags, runNotebookInNode, writeNotebook } from "./jupyter-env.js";

/** Optimizations V8 completed while the notebook ran, by function name. */
function optimizations(notebook: string, flags: readonly string[]): string[] {
  const r = runNotebookInNode(notebook, [...flags, "--trace-opt"]);
  expect(r.status, r.stderr).toBe(0);
  return [...r.stdout.matchAll(/^\[completed compiling \S+ <JSFunction (\S+)/gm)].map((m) => m[1]!);
}

describe("the compiler's tiering", () => {
  it("keeps TurboFan off most compiler functions while the notebook's hot code is optimized", () => {
    const dir = mkdtempSync(join(tmpdir(), "petrel-tiering-"));
    const cells = Array.from({ length: 120 }, (_, i) => (i % 3 === 0 ? "1 + 1" : i % 3 === 1 ? `const v${i} = [${i}, 2].map((x) => x * 2);` : `function f${i}(x: number): number {\n  return x * ${i};\n}`));
    const notebook = join(dir, "cells.ipynb");
    writeNotebook(notebook, [
      ...cells,
      "function hotLoop(n: number): number {\n  let acc = 0;\n  for (let i = 0; i < n; i++) acc = (acc + i * 7) % 1000003;\n  return acc;\n}\nlet total = 0;\nfor (let k = 0; k < 150; k++) total += hotLoop(80);\ntotal",
    ]);
    const flags = kernelNodeFlags();
    expect(flags.some((f) => f.startsWith("--interrupt-budget="))).toBe(true);
    const tiered = optimizations(notebook, flags);
    const untiered = optimizations(
      notebook,
      flags.filter((f) => !f.startsWith("--interrupt-budget=")),
    );
    console.log(`TurboFan compiles while the notebook ran: ${tiered.length} with the compiler's budget, ${untiered.length} without`);
    expect(tiered).toContain("hotLoop");
    expect(untiered).toContain("hotLoop");
    expect(tiered.length).toBeLessThan(untiered.length / 2);
  }, 300_000);
});
