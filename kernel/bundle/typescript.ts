/** The TypeScript compiler API, loaded on first use: it costs ~300 ms, and most processes never need it. */
import { createRequire } from "node:module";
import type * as TS from "typescript";

const require = createRequire(import.meta.url);
let ts: typeof TS | undefined;

/** The `typescript` module, loaded once. */
export function typescript(): typeof TS {
  ts ??= require("typescript") as typeof TS;
  return ts;
}

/** The script kind TypeScript should parse a file as, from its extension (cells are `.ts`). */
export function scriptKind(file: string): TS.ScriptKind {
  const t = typescript();
  if (/\.tsx$/.test(file)) return t.ScriptKind.TSX;
  if (/\.[cm]?ts$/.test(file)) return t.ScriptKind.TS;
  if (/\.jsx$/.test(file)) return t.ScriptKind.JSX;
  return /\.[cm]?js$/.test(file) ? t.ScriptKind.JS : t.ScriptKind.TS;
}

/** Parses source text with parent pointers set. */
export function parseSource(file: string, text: string): TS.SourceFile {
  const t = typescript();
  return t.createSourceFile(file, text, t.ScriptTarget.Latest, true, scriptKind(file));
}

/** The names a binding (`x`, `{ a, b: [c] }`) declares. */
export function bindingNames(name: TS.BindingName): string[] {
  const t = typescript();
  if (t.isIdentifier(name)) return [name.text];
  const out: string[] = [];
  for (const el of name.elements) if (!t.isOmittedExpression(el)) out.push(...bindingNames(el.name));
  return out;
}
