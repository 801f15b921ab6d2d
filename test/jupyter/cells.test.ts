/**
 * What a notebook user relies on from one cell to the next (declarations,
 * shadowing, imports, values, errors that point at the cell's own lines), through
 * the kernel's own session: one notebook, run headless, whose cells are checked by
 * what each one shows.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runNotebook, type NotebookOutput, type NotebookRun } from "../../kernel/jupyter/index.js";
import { resultText, writeNotebook } from "./jupyter-env.js";

/** The cells (run in `dir`), each under a key the tests read its outputs by. */
const cells = (dir: string): [string, string][] => [
  ["declare", "let counter = 1;\nconst label = 'n';"],
  ["reassign", "counter += 41;"],
  ["read", "`${label}=${counter}`"],
  ["no value", "const nothing = 1;"],

  ["shade 1", "const shade = 1;\ntype Shade = { n: number };"],
  ["shade 2", "const shade = 'one';"],
  ["shade value", "shade.toUpperCase()"],
  ["shade type", "const s: Shade = { n: shade.length }; s.n"],
  ["shade wrong", "const wrong: number = shade;"],

  ["ghost", "const ghost = 1;\nthrow new Error('boom');"],
  ["ghost gone", "ghost + 1"],
  ["after ghost", "counter"],

  ["orders", "const orders = 5;\nconst total = 0.5;"],
  ["summary", "function summary() { return { total: 10, orders: 2 }; }"],
  ["destructure", "function read() { const { total, orders: n } = summary(); return total + n; }\nread()"],
  ["shorthand", "({ orders, total, other: { orders: 1 }.orders })"],
  ["member", "const box = { orders: 7 }; box.orders + orders"],

  ["await", "const later = await new Promise<number>((r) => setTimeout(() => r(6), 5));\nlater * 7"],
  ["for await", "async function* gen() { yield 1; yield 2; }\nlet sum = 0;\nfor await (const v of gen()) sum += v;\nsum"],

  ["import", 'import { join as joinPath } from "node:path";\nimport * as os from "node:os";\nimport { writeFileSync } from "node:fs";'],
  ["use import", 'joinPath("a", "b")'],
  ["use namespace", "typeof os.platform()"],
  ["petrel", 'import { t } from "petrel";\ntypeof t.int'],

  ["helper v1", `writeFileSync(${JSON.stringify(join(dir, "helper.ts"))}, "export const twice = (n: number): number => 2 * n;\\n");`],
  ["helper v1 used", 'import { twice } from "./helper";\ntwice(21)'],
  ["helper v2", `writeFileSync(${JSON.stringify(join(dir, "helper.ts"))}, "export const twice = (n: number): number => 3 * n;\\n");`],
  ["helper v2 used", 'import { twice as thrice } from "./helper";\nthrice(2)'],
  ["helper broken", `writeFileSync(${JSON.stringify(join(dir, "helper.ts"))}, "export const twice = (n: number): number => n * 'x';\\n");`],
  ["helper broken used", 'import { twice as broken } from "./helper";\nbroken(1)'],

  ["late missing", 'import { late } from "./late";'],
  ["late written", `writeFileSync(${JSON.stringify(join(dir, "late.ts"))}, "export const late = 'here';\\n");`],
  ["late found", 'import { late } from "./late";\nlate'],

  ["module", "/** @module shapes */\nexport const side = 4;\nexport const area = (s: number) => s * s;"],
  ["module used", 'import { area, side } from "./shapes";\narea(side)'],

  ["type error", "const a = 1;\nconst b: string = a;"],
  ["syntax error", "const c = ;"],
  ["stack", "function fail(): never {\n  throw new Error('deep');\n}\nconst pad = 1;\nfail();"],

  ...Array.from({ length: 200 }, (_, i): [string, string] => [`many ${i}`, `const many${i} = ${i};`]),
  ["many sum", "many0 + many199"],
  ["many shadow", "const many5 = 'five'; many5 + many6"],

  // Declarations older than hundreds of cells keep their meaning, shadowed or not.
  ["typed early", "type Unit = number;\nconst unit: Unit = 1;\nclass Kind { k = 1; }"],
  ...Array.from({ length: 40 }, (_, i): [string, string] => [`rerun ${i}`, `const rerun = ${i};`]),
  ["retyped", "type Unit = string;\nconst Kind = 'now a value';"],
  ...Array.from({ length: 40 }, (_, i): [string, string] => [`filler ${i}`, `const filler${i} = ${i};`]),
  ["old types", "const n: number = unit; const k: Kind = { k: 2 }; const u: Unit = 'text'; [rerun, n, k.k, u, Kind, shade]"],
];

let run: NotebookRun;
let CELLS: [string, string][];

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), "petrel-cells-"));
  CELLS = cells(dir);
  writeNotebook(join(dir, "cells.ipynb"), CELLS.map(([, source]) => source));
  run = await runNotebook(join(dir, "cells.ipynb"), { allowErrors: true });
}, 120_000);

afterAll(() => run?.close());

function outputs(key: string): NotebookOutput[] {
  const index = CELLS.findIndex(([k]) => k === key);
  if (index < 0) throw new Error(`no cell ${key}`);
  return run.notebook.cells[index]!.outputs ?? [];
}

/** What a cell showed as its value (text/plain), or its error. */
function shown(key: string): string | undefined {
  const out = outputs(key);
  const error = out.find((o) => o.output_type === "error");
  if (error) return `${String(error.ename)}: ${String(error.evalue)}`;
  return resultText(out);
}

describe("cells", () => {
  it("see and reassign what earlier cells declared, and show their last expression", () => {
    expect(shown("declare")).toBeUndefined();
    // An assignment is an expression: like Node's REPL, the cell shows its value.
    expect(shown("reassign")).toBe("42");
    expect(shown("read")).toBe("'n=42'");
    expect(outputs("no value")).toEqual([]);
  });

  it("shadow an earlier declaration with a later one, types and values alike", () => {
    expect(shown("shade value")).toBe("'ONE'");
    // The type still comes from the cell that declared it; the value from the latest cell.
    expect(shown("shade type")).toBe("3");
    expect(shown("shade wrong")).toBe("CompileError: line 1: Type 'string' is not assignable to type 'number'.");
  });

  it("keep nothing of a cell that failed at run time, and nothing else is lost", () => {
    expect(shown("ghost")).toBe("Error: boom");
    expect(shown("ghost gone")).toBe("CompileError: line 1: Cannot find name 'ghost'.");
    expect(shown("after ghost")).toBe("42");
  });

  it("leave property names alone when an earlier cell declared the same name", () => {
    expect(shown("destructure")).toBe("12");
    expect(shown("shorthand")).toBe("{ orders: 5, total: 0.5, other: 1 }");
    expect(shown("member")).toBe("12");
  });

  it("await at the top level, including for await", () => {
    expect(shown("await")).toBe("42");
    expect(shown("for await")).toBe("3");
  });

  it("import packages, Petrel included, and keep them for later cells", () => {
    expect(shown("import")).toBeUndefined();
    expect(shown("use import")).toBe("'a/b'");
    expect(shown("use namespace")).toBe("'string'");
    expect(shown("petrel")).toBe("'function'");
  });

  it("import the notebook's own files, compiled again when they change, with their errors named", () => {
    expect(shown("helper v1 used")).toBe("42");
    expect(shown("helper v2 used")).toBe("6");
    expect(shown("helper broken used")).toBe(
      "CompileError: helper.ts:line 1: The right-hand side of an arithmetic operation must be of type 'any', 'number', 'bigint' or an enum type.",
    );
  });

  it("find a file created after an import of it failed", () => {
    expect(shown("late missing")).toBe("CompileError: line 1: Cannot find module './late' or its corresponding type declarations.");
    expect(shown("late found")).toBe("'here'");
  });

  it("define in-memory modules with @module", () => {
    expect(shown("module")).toBeUndefined();
    expect(shown("module used")).toBe("16");
  });

  it("point compile errors at the cell's own lines", () => {
    expect(shown("type error")).toBe("CompileError: line 2: Type 'number' is not assignable to type 'string'.");
    expect(shown("syntax error")).toBe("SyntaxError: line 1: Expression expected.");
    const traceback = outputs("type error").find((o) => o.output_type === "error")!.traceback as string[];
    expect(traceback.join("\n")).toMatch(/line 2, column 7/);
  });

  it("show a runtime error's stack at the cell's own lines", () => {
    const traceback = (outputs("stack").find((o) => o.output_type === "error")!.traceback as string[]).join("\n");
    expect(traceback).toMatch(/at fail \(cell \[\d+\]:2:9\)/);
    expect(traceback).toMatch(/cell \[\d+\]:5:1/);
  });

  it("stay correct over hundreds of declaring cells", () => {
    expect(shown("many sum")).toBe("199");
    expect(shown("many shadow")).toBe("'five6'");
    expect(shown("old types")).toBe("[ 39, 1, 2, 'text', 'now a value', 'one' ]");
  });
});
