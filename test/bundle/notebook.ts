/**
 * A minimal notebook for tests: runs TypeScript cells one after another in this
 * process, sharing top-level names between cells, recording each cell in a
 * CellSources and compiling it under its virtual file name (`<dir>/cell-<n>.ts`) so
 * task definitions point back at their cell, as the Petrel kernel does.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import vm from "node:vm";
import ts from "typescript";
import * as petrel from "../../kernel/index.js";

export const PROJECT_ROOT = fileURLToPath(new URL("../..", import.meta.url));

export interface Notebook {
  readonly dir: string;
  readonly cells: petrel.CellSources;
  /** Every top-level name the cells defined or imported, latest value. */
  readonly locals: Record<string, unknown>;
  /** Runs a cell; resolves when it finishes (top-level await included). */
  run(source: string): Promise<void>;
  /** Runs several cells in order. */
  runAll(sources: readonly string[]): Promise<void>;
  /** Unregisters the cells' source provider and removes the directory. */
  close(): void;
}

/**
 * A project directory whose node_modules links `petrel` (this project) and the
 * given packages (from this project's node_modules), as a user's project would have
 * them installed.
 */
export function createProjectDir(packages: readonly string[] = [], prefix = "petrel-bundle-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  mkdirSync(join(dir, "node_modules"));
  symlinkSync(PROJECT_ROOT, join(dir, "node_modules", "petrel"), "dir");
  for (const name of packages) symlinkSync(join(PROJECT_ROOT, "node_modules", name), join(dir, "node_modules", name), "dir");
  return dir;
}

const requireFromProject = createRequire(join(PROJECT_ROOT, "package.json"));

/** Creates a notebook in a fresh project directory (or `dir`). */
export function createNotebook(options: { dir?: string; packages?: readonly string[] } = {}): Notebook {
  const dir = options.dir ?? createProjectDir(options.packages);
  const cells = petrel.createCellSources({ dir });
  const unregister = petrel.registerSourceProvider(cells.provider);
  const locals: Record<string, unknown> = {};
  let count = 0;

  const load = (specifier: string): Record<string, unknown> => {
    if (specifier === "petrel") return petrel as unknown as Record<string, unknown>;
    if (specifier.startsWith(".")) return createRequire(join(dir, "cell.js"))(specifier) as Record<string, unknown>;
    return requireFromProject(specifier) as Record<string, unknown>;
  };

  const run = async (source: string): Promise<void> => {
    const file = cells.add(++count, source);
    const sf = ts.createSourceFile(file, source, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
    let body = source;
    const declared: string[] = [];
    for (const stmt of sf.statements) {
      if (ts.isImportDeclaration(stmt) && ts.isStringLiteral(stmt.moduleSpecifier)) {
        const clause = stmt.importClause;
        if (clause && !clause.isTypeOnly) {
          // Relative imports of .ts files are only read by the bundle builder here, never run.
          const mod = stmt.moduleSpecifier.text.startsWith(".") ? {} : load(stmt.moduleSpecifier.text);
          if (clause.name) locals[clause.name.text] = mod.default ?? mod;
          const nb = clause.namedBindings;
          if (nb && ts.isNamespaceImport(nb)) locals[nb.name.text] = mod;
          if (nb && ts.isNamedImports(nb)) for (const el of nb.elements) locals[el.name.text] = mod[(el.propertyName ?? el.name).text];
        }
        // Blank the import out, keeping line numbers.
        const start = stmt.getStart(sf);
        body = body.slice(0, start) + body.slice(start, stmt.getEnd()).replace(/[^\n]/g, " ") + body.slice(stmt.getEnd());
        continue;
      }
      if (ts.isVariableStatement(stmt)) {
        for (const d of stmt.declarationList.declarations) if (ts.isIdentifier(d.name)) declared.push(d.name.text);
      } else if ((ts.isFunctionDeclaration(stmt) || ts.isClassDeclaration(stmt) || ts.isEnumDeclaration(stmt)) && stmt.name) {
        declared.push(stmt.name.text);
      }
    }
    const js = ts.transpileModule(body, { compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext } }).outputText;
    const params = Object.keys(locals).filter((n) => !declared.includes(n));
    const wrapped = `(async function (${params.join(", ")}) {${js}\nreturn { ${declared.join(", ")} };\n})`;
    const fn = vm.runInThisContext(wrapped, { filename: file }) as (...args: unknown[]) => Promise<Record<string, unknown>>;
    Object.assign(locals, await fn(...params.map((n) => locals[n])));
  };

  return {
    dir,
    cells,
    locals,
    run,
    async runAll(sources) {
      for (const s of sources) await run(s);
    },
    close() {
      unregister();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
