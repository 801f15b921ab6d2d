// Static typing of the DSL: the fixtures in test/types/typecheck/ are compiled
// with the TypeScript compiler API and the project's own compiler options.
// good.ts must be clean; in bad-binding.ts every `@ts-expect-error` must guard a
// real error of the stated code, which is checked by compiling the file again
// with the markers removed. The fixtures are not *.test.ts files, so vitest does
// not run them; the root tsconfig includes them, so `npm run lint` type-checks
// them too (and fails on an unused marker).
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { beforeAll, describe, expect, it } from "vitest";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const FIXTURES = join(ROOT, "test/types/typecheck");
const GOOD = join(FIXTURES, "good.ts");
const BAD = join(FIXTURES, "bad-binding.ts");
/** Compiling the fixtures type-checks the kernel and danfo's typings with them. */
const COMPILE_TIMEOUT_MS = 180_000;

/** `// @ts-expect-error TS2322 "fragment" -- why`: the code is required, the fragment optional. */
const MARKER = /\/\/ @ts-expect-error\s+TS(\d+)(?:\s+("(?:[^"\\]|\\.)*"))?\s+--\s+(.+)$/;

interface Expectation {
  /** 0-based line the error must start on: the one after the marker. */
  line: number;
  code: number;
  fragment?: string;
  reason: string;
}

function projectOptions(): { options: ts.CompilerOptions; fileNames: string[] } {
  const path = join(ROOT, "tsconfig.json");
  const read = ts.readConfigFile(path, (p) => ts.sys.readFile(p));
  if (read.error) throw new Error(ts.flattenDiagnosticMessageText(read.error.messageText, "\n"));
  const parsed = ts.parseJsonConfigFileContent(read.config, ts.sys, ROOT, undefined, path);
  return { options: { ...parsed.options, noEmit: true }, fileNames: parsed.fileNames };
}

function render(d: ts.Diagnostic): string {
  const text = ts.flattenDiagnosticMessageText(d.messageText, "\n");
  if (!d.file || d.start === undefined) return `TS${d.code}: ${text}`;
  const { line, character } = d.file.getLineAndCharacterOfPosition(d.start);
  return `${d.file.fileName.slice(ROOT.length + 1)}(${line + 1},${character + 1}): TS${d.code}: ${text}`;
}

/** The diagnostic's code and the codes of its elaboration chain (TypeScript versions differ in which one leads). */
function codesOf(d: ts.Diagnostic): number[] {
  const codes = [d.code];
  const walk = (chain: string | ts.DiagnosticMessageChain | undefined): void => {
    if (chain === undefined || typeof chain === "string") return;
    codes.push(chain.code);
    for (const next of chain.next ?? []) walk(next);
  };
  walk(d.messageText);
  return codes;
}

function isFixture(d: ts.Diagnostic): boolean {
  return d.file !== undefined && resolve(d.file.fileName).startsWith(FIXTURES);
}

function expectationsOf(source: string): Expectation[] {
  const out: Expectation[] = [];
  source.split("\n").forEach((text, i) => {
    if (!text.trim().startsWith("// @ts-expect-error")) return;
    const m = MARKER.exec(text.trim());
    if (!m) throw new Error(`bad-binding.ts:${i + 1}: write markers as // @ts-expect-error TS<code> ["fragment"] -- <why>`);
    out.push({
      line: i + 1,
      code: Number(m[1]),
      ...(m[2] ? { fragment: JSON.parse(m[2]) as string } : {}),
      reason: m[3]!,
    });
  });
  return out;
}

describe("static typing of bindings", () => {
  let options: ts.CompilerOptions;
  let fileNames: string[];
  let program: ts.Program;

  beforeAll(() => {
    ({ options, fileNames } = projectOptions());
    program = ts.createProgram({ rootNames: [GOOD, BAD], options });
  }, COMPILE_TIMEOUT_MS);

  it("keeps the fixtures out of vitest's test files and inside the lint type-check", () => {
    const fixtures = readdirSync(FIXTURES).filter((f) => f.endsWith(".ts"));
    expect(fixtures).toEqual(expect.arrayContaining(["good.ts", "bad-binding.ts"]));
    for (const f of fixtures) expect(f.endsWith(".test.ts"), f).toBe(false);
    expect(fileNames.map((f) => resolve(f))).toEqual(expect.arrayContaining([GOOD, BAD]));
  });

  it("compiles good.ts and bad-binding.ts with zero diagnostics under the project's options", () => {
    // Kernel diagnostics are the next test's business; options and fixtures are this one's.
    const diagnostics = ts.getPreEmitDiagnostics(program).filter((d) => !d.file || isFixture(d));
    expect(diagnostics.map(render)).toEqual([]);
  });

  it("type-checks the kernel modules the fixtures import with the TypeScript the project declares", () => {
    const diagnostics = ts
      .getPreEmitDiagnostics(program)
      .filter((d) => d.file && !isFixture(d) && !d.file.fileName.includes("/node_modules/"));
    expect(diagnostics.map(render)).toEqual([]);
  });

  it("marks the required mistakes in bad-binding.ts", () => {
    const reasons = expectationsOf(readFileSync(BAD, "utf8")).map((e) => e.reason);
    for (const required of [
      "a string handle bound to an int input",
      "a string literal passed to an int input",
      "the task returns a string for an int output",
      "an input the task does not declare",
      "required input b is not bound",
    ]) {
      expect(reasons).toContain(required);
    }
  });

  it(
    "makes every marked line in bad-binding.ts an error of the stated code, and nothing else",
    () => {
      const source = readFileSync(BAD, "utf8");
      const expectations = expectationsOf(source);
      // Same length, same lines: only the directive itself is disarmed.
      const stripped = source.replaceAll("// @ts-expect-error", "// @ts-expect-errxr");
      const host = ts.createCompilerHost(options);
      const getSourceFile = host.getSourceFile.bind(host);
      host.getSourceFile = (fileName, languageVersion, onError, shouldCreate) =>
        resolve(fileName) === BAD
          ? ts.createSourceFile(fileName, stripped, languageVersion, true)
          : getSourceFile(fileName, languageVersion, onError, shouldCreate);
      const strippedProgram = ts.createProgram({ rootNames: [BAD], options, host, oldProgram: program });
      const errors = ts
        .getPreEmitDiagnostics(strippedProgram)
        .filter((d) => d.category === ts.DiagnosticCategory.Error && (!d.file || resolve(d.file.fileName) === BAD));

      const byLine = new Map<number, ts.Diagnostic[]>();
      for (const d of errors) {
        const line = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start).line : -1;
        byLine.set(line, [...(byLine.get(line) ?? []), d]);
      }
      for (const e of expectations) {
        const found = byLine.get(e.line) ?? [];
        const where = `bad-binding.ts:${e.line + 1} (${e.reason})`;
        expect(found.flatMap(codesOf), where).toContain(e.code);
        if (e.fragment) {
          const texts = found.map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n")).join("\n");
          expect(texts, where).toContain(e.fragment);
        }
      }
      const unexpected = [...byLine.entries()]
        .filter(([line]) => !expectations.some((e) => e.line === line))
        .flatMap(([, ds]) => ds.map(render));
      expect(unexpected).toEqual([]);
    },
    COMPILE_TIMEOUT_MS,
  );
});
