/**
 * What the bundle builder reads: a set of source files sharing one top-level
 * namespace (a module on disk, or a notebook's cells in execution order), plus any
 * file they import relatively.
 */
import { readFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import type { SourceProvider } from "./closure.js";
import { bindingNames, parseSource, typescript } from "./typescript.js";

/** One source file's path and text. */
export interface SourceText {
  readonly file: string;
  readonly text: string;
}

/**
 * Sources the builder reads. `files()` share one namespace, in definition order: a
 * later declaration of a name replaces an earlier one (notebook cells), and the
 * statements around declarations (prints, runs, awaits) are never shipped.
 */
export interface SourceSet {
  /** The files of the namespace, earliest first. */
  files(): Iterable<SourceText>;
  /** Text of a file that is not on disk (undefined: read it from disk). */
  read?(file: string): string | undefined;
  /** How people should see a file in messages ("cell [3]"); defaults to its path. */
  label?(file: string): string;
}

/** Virtual file names of cells start with this, then the execution count: `cell-3.ts`. */
export const CELL_FILE_PREFIX = "cell-";
/** Cells are TypeScript. */
export const CELL_FILE_EXTENSION = ".ts";

/** The virtual file of the cell run with `executionCount`, in `dir`: `<dir>/cell-3.ts`. */
export function cellFileName(executionCount: number, dir: string = process.cwd()): string {
  return join(resolve(dir), `${CELL_FILE_PREFIX}${executionCount}${CELL_FILE_EXTENSION}`);
}

const CELL_FILE = new RegExp(`^${CELL_FILE_PREFIX}(\\d+)\\${CELL_FILE_EXTENSION}$`);

/** The execution count of a cell file, or undefined for any other file. */
export function cellExecutionCount(file: string): number | undefined {
  const m = CELL_FILE.exec(basename(file));
  return m ? Number(m[1]) : undefined;
}

/** Options of `createCellSources()`. */
export interface CellSourcesOptions {
  /** The notebook's directory: cells live there as virtual files, and their relative imports resolve from it. Default: the working directory. */
  dir?: string;
}

/**
 * A notebook's cells, as the bundle builder and the code-closure analysis read them.
 *
 * @example
 * ```ts
 * const cells = createCellSources({ dir: notebookDir });
 * registerSourceProvider(cells.provider);   // cache versions follow helpers across cells
 * cells.add(1, 'import { task, t } from "petrel";');
 * cells.add(2, "const double = task({ ... }, ({ x }) => ({ y: 2 * x }));");
 * buildBundle({ double }, { sources: cells });
 * ```
 */
export interface CellSources extends SourceSet {
  /** The notebook's directory. */
  readonly dir: string;
  /** Number of cells held. */
  readonly size: number;
  /**
   * Records a cell that ran successfully (line magics blanked out, so lines still
   * match) and returns its virtual file, `<dir>/cell-<executionCount>.ts`: code
   * compiled from the cell must report that file name in stack traces, so task
   * definitions can be traced back to it. Adding an execution count again replaces
   * that cell and moves it to the end.
   */
  add(executionCount: number, source: string): string;
  /** The text of a cell file, if held. */
  get(file: string): string | undefined;
  /** Forgets every cell (kernel restart). */
  clear(): void;
  /** For `registerSourceProvider`: serves cell text, and resolves names used in one cell to the latest cell defining them. */
  readonly provider: SourceProvider;
}

/** Creates an empty set of notebook cells. */
export function createCellSources(options: CellSourcesOptions = {}): CellSources {
  const dir = resolve(options.dir ?? process.cwd());
  /** File -> text, in execution order. */
  const cells = new Map<string, string>();
  /** Name -> latest cell defining it; rebuilt lazily, since most cells never get asked about. */
  let index: Map<string, string> | undefined;
  let indexed = 0;

  const nameIndex = (): Map<string, string> => {
    if (!index) {
      index = new Map();
      indexed = 0;
    }
    if (indexed < cells.size) {
      let i = 0;
      for (const [file, text] of cells) {
        if (i++ < indexed) continue;
        for (const name of topLevelNames(file, text)) index.set(name, file);
      }
      indexed = cells.size;
    }
    return index;
  };

  const provider: SourceProvider = Object.assign((file: string) => cells.get(file), {
    resolveName: (file: string, name: string) => (cells.has(file) ? nameIndex().get(name) : undefined),
  });

  return {
    dir,
    get size() {
      return cells.size;
    },
    add(executionCount, source) {
      if (!Number.isInteger(executionCount) || executionCount < 0) {
        throw new RangeError(`cell execution count must be a non-negative integer, got ${String(executionCount)}`);
      }
      const file = cellFileName(executionCount, dir);
      if (cells.has(file)) {
        cells.delete(file);
        index = undefined;
      }
      cells.set(file, String(source));
      return file;
    },
    get: (file) => cells.get(file),
    clear() {
      cells.clear();
      index = undefined;
    },
    files: () => [...cells].map(([file, text]) => ({ file, text })),
    read: (file) => cells.get(file),
    label: (file) => {
      const n = cellExecutionCount(file);
      return n !== undefined && cells.has(file) ? `cell [${n}]` : file;
    },
    provider,
  };
}

/** The sources of one module on disk (or text given for it): what `buildBundle(…, { entry })` reads. */
export function fileSources(entry: string, text?: string): SourceSet {
  const file = resolve(entry);
  return {
    files: () => [{ file, text: text ?? readFileSync(file, "utf8") }],
    read: (f) => (f === file ? text : undefined),
  };
}

/** Names a file's top level binds: declarations and imports (values only). */
export function topLevelNames(file: string, text: string): string[] {
  const t = typescript();
  const names: string[] = [];
  for (const stmt of parseSource(file, text).statements) {
    if (t.canHaveModifiers(stmt) && t.getModifiers(stmt)?.some((m) => m.kind === t.SyntaxKind.DeclareKeyword)) continue;
    if (t.isVariableStatement(stmt)) {
      for (const d of stmt.declarationList.declarations) names.push(...bindingNames(d.name));
    } else if ((t.isFunctionDeclaration(stmt) && stmt.body) || t.isClassDeclaration(stmt) || t.isEnumDeclaration(stmt)) {
      if (stmt.name) names.push(stmt.name.text);
    } else if (t.isModuleDeclaration(stmt) && t.isIdentifier(stmt.name)) {
      names.push(stmt.name.text);
    } else if (t.isImportDeclaration(stmt) && stmt.importClause && !stmt.importClause.isTypeOnly) {
      const clause = stmt.importClause;
      if (clause.name) names.push(clause.name.text);
      const nb = clause.namedBindings;
      if (nb && t.isNamespaceImport(nb)) names.push(nb.name.text);
      if (nb && t.isNamedImports(nb)) for (const el of nb.elements) if (!el.isTypeOnly) names.push(el.name.text);
    }
  }
  return names;
}
