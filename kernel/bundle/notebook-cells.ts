/**
 * Static reading of notebook cells for notebook tasks, from the syntax tree (so
 * comments and strings never count), before anything runs: the names a parameters
 * cell declares, and the `record(...)` calls of Petrel's the cells make.
 */
import type * as TS from "typescript";
import { PETREL_PACKAGE } from "./packages.js";
import { bindingNames, parseSource, typescript } from "./typescript.js";

/** One call of Petrel's `record` in a notebook's code cells. */
export interface RecordCall {
  /** Index of the source in the list given. */
  cell: number;
  /** 1-based line in the cell. */
  line: number;
  /** The recorded name when the first argument is a string literal; undefined when computed. */
  name: string | undefined;
}

/** Petrel's own entry, and its subpaths, as cells import it. */
const isPetrelSpecifier = (s: string): boolean => s === PETREL_PACKAGE || s.startsWith(`${PETREL_PACKAGE}/`);

/** Magic lines (`%petrel ...`) are not TypeScript: blanked out, keeping positions. */
function withoutMagics(text: string): string {
  return text.replace(/^[ \t]*%.*$/gm, (line) => " ".repeat(line.length));
}

/** How a cell declares a top-level name. */
export type DeclarationKeyword = "const" | "let" | "var";

/**
 * The top-level variables a cell (a notebook's parameters cell) declares, with the
 * keyword each is declared with, in order.
 *
 * @example
 * ```ts
 * declaredVariables("const rows = 1000;\nlet seed = 7;"); // Map { rows => "const", seed => "let" }
 * ```
 */
export function declaredVariables(text: string): Map<string, DeclarationKeyword> {
  const t = typescript();
  const out = new Map<string, DeclarationKeyword>();
  for (const stmt of parseSource("parameters.ts", withoutMagics(text)).statements) {
    if (!t.isVariableStatement(stmt)) continue;
    const flags = stmt.declarationList.flags;
    const keyword: DeclarationKeyword = flags & t.NodeFlags.Let ? "let" : flags & t.NodeFlags.Const || flags & t.NodeFlags.Using ? "const" : "var";
    for (const d of stmt.declarationList.declarations) for (const name of bindingNames(d.name)) out.set(name, keyword);
  }
  return out;
}

/**
 * The calls of Petrel's `record` in a notebook's code cells, in order: `record(...)`
 * where `record` (or an alias) is imported from "petrel" in any cell, and
 * `ns.record(...)` where `ns` is a namespace import of "petrel".
 *
 * @example
 * ```ts
 * findRecordCalls(['import * as petrel from "petrel";', 'petrel.record("n", 1);']);
 * // [{ cell: 1, line: 1, name: "n" }]
 * ```
 */
export function findRecordCalls(sources: readonly string[]): RecordCall[] {
  const t = typescript();
  const files = sources.map((text, i) => parseSource(`cell-${i}.ts`, withoutMagics(text)));
  const direct = new Set<string>();
  const namespaces = new Set<string>();
  for (const sf of files) {
    for (const stmt of sf.statements) {
      if (!t.isImportDeclaration(stmt) || !t.isStringLiteral(stmt.moduleSpecifier) || !isPetrelSpecifier(stmt.moduleSpecifier.text)) continue;
      const nb = stmt.importClause?.namedBindings;
      if (nb && t.isNamespaceImport(nb)) namespaces.add(nb.name.text);
      if (nb && t.isNamedImports(nb)) {
        for (const el of nb.elements) if ((el.propertyName ?? el.name).text === "record") direct.add(el.name.text);
      }
    }
  }
  const calls: RecordCall[] = [];
  files.forEach((sf, cell) => {
    const visit = (node: TS.Node): void => {
      if (t.isCallExpression(node) && isRecordCallee(node.expression)) {
        const first = node.arguments[0];
        const name = first && (t.isStringLiteral(first) || t.isNoSubstitutionTemplateLiteral(first)) ? first.text : undefined;
        calls.push({ cell, line: sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1, name });
      }
      t.forEachChild(node, visit);
    };
    visit(sf);
  });
  return calls;

  function isRecordCallee(callee: TS.Expression): boolean {
    if (t.isIdentifier(callee)) return direct.has(callee.text);
    return t.isPropertyAccessExpression(callee) && callee.name.text === "record" && t.isIdentifier(callee.expression) && namespaces.has(callee.expression.text);
  }
}
