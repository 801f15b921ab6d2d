/**
 * Code closures: the source a function depends on, found statically. A task's
 * default cache version is the hash of its closure: its own text, every top-level
 * declaration it reaches in its module (transitively, across relative imports and,
 * for notebook cells, across cells), and the versions of the npm packages it imports.
 * Editing the task or any helper it calls changes the version; editing unrelated code
 * does not. Declarations are hashed by name and text, never by file path, so the same
 * code gives the same version on every machine and in every cell it is re-run in.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync, statSync } from "node:fs";
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import type * as TS from "typescript";
import { freeNames } from "./free-names.js";
import { installedVersion, isBuiltinSpecifier, packageName, PETREL_PACKAGE, petrelSpecifierOf } from "./packages.js";
import { bindingNames, parseSource, typescript } from "./typescript.js";

/** Where a definition was made: the user's file and position. */
export interface CallSite {
  file: string;
  line: number;
  column: number;
}

/** The closure of a function. */
export interface CodeClosure {
  /** `sha256:<hex>` over the function text, reached declarations and package versions. */
  hash: string;
  /** "code-closure" when the defining module was analysed; "function-source" when only the function text was. */
  source: "code-closure" | "function-source";
  /** Names of the declarations included, `file#name`, for explaining cache decisions. */
  declarations: string[];
  /** npm packages the closure imports, `name@version`. */
  packages: string[];
}

/**
 * Supplies source text for files that are not on disk (notebook cells). A provider
 * may also say where a name that a file uses but does not declare is defined
 * (`resolveName`): notebook cells share one namespace, so a task in one cell calls
 * helpers declared in others.
 */
export interface SourceProvider {
  (file: string): string | undefined;
  /** The file that defines `name` for code in `file` (a declaration or an import), if the provider knows. */
  resolveName?: (file: string, name: string) => string | undefined;
}

const providers: SourceProvider[] = [];

/** Registers a provider of source text (the Jupyter kernel registers its cells). Returns an unregister function. */
export function registerSourceProvider(provider: SourceProvider): () => void {
  providers.push(provider);
  return () => {
    const i = providers.indexOf(provider);
    if (i >= 0) providers.splice(i, 1);
  };
}

const pinned = new WeakMap<object, CodeClosure>();

/**
 * Fixes the closure `codeClosure` reports for `fn`. A loaded bundle pins each task's
 * function to the closure recorded when the bundle was built, so the task keeps the
 * cache version it had where its source lives (see `loadBundle`). Must happen before
 * the task's spec is first read: specs are compiled once.
 */
export function pinCodeClosure(fn: (...args: never[]) => unknown, closure: CodeClosure): void {
  pinned.set(fn, closure);
}

/** Top-level declarations of a module, by name. */
interface ModuleInfo {
  file: string;
  declarations: Map<string, TS.Node>;
  imports: Map<string, { from: string; imported: string }>;
  text: string;
  sourceFile: TS.SourceFile;
}

const moduleCache = new Map<string, { mtimeMs: number; info: ModuleInfo | undefined }>();

function readSource(file: string): { text: string; mtimeMs: number } | undefined {
  for (const p of providers) {
    const text = p(file);
    if (text !== undefined) return { text, mtimeMs: -1 };
  }
  try {
    const st = statSync(file);
    return { text: readFileSync(file, "utf8"), mtimeMs: st.mtimeMs };
  } catch {
    return undefined;
  }
}

function loadModule(file: string): ModuleInfo | undefined {
  const src = readSource(file);
  if (!src) return undefined;
  const cached = moduleCache.get(file);
  if (cached && cached.mtimeMs === src.mtimeMs && src.mtimeMs !== -1) return cached.info;
  const t = typescript();
  const sourceFile = parseSource(file, src.text);
  const declarations = new Map<string, TS.Node>();
  const imports = new Map<string, { from: string; imported: string }>();
  for (const stmt of sourceFile.statements) {
    if (t.isImportDeclaration(stmt) && t.isStringLiteral(stmt.moduleSpecifier)) {
      const from = stmt.moduleSpecifier.text;
      const clause = stmt.importClause;
      if (!clause || clause.isTypeOnly) continue;
      if (clause.name) imports.set(clause.name.text, { from, imported: "default" });
      const nb = clause.namedBindings;
      if (nb && t.isNamespaceImport(nb)) imports.set(nb.name.text, { from, imported: "*" });
      if (nb && t.isNamedImports(nb)) {
        for (const el of nb.elements) {
          if (!el.isTypeOnly) imports.set(el.name.text, { from, imported: (el.propertyName ?? el.name).text });
        }
      }
    } else if (t.isFunctionDeclaration(stmt) || t.isClassDeclaration(stmt) || t.isEnumDeclaration(stmt)) {
      if (stmt.name) declarations.set(stmt.name.text, stmt);
    } else if (t.isVariableStatement(stmt)) {
      for (const d of stmt.declarationList.declarations) {
        for (const name of bindingNames(d.name)) declarations.set(name, d);
      }
    }
  }
  const info: ModuleInfo = { file, declarations, imports, text: src.text, sourceFile };
  moduleCache.set(file, { mtimeMs: src.mtimeMs, info });
  return info;
}

/** A bound on the walk, so a pathological module graph cannot stall a definition. */
const MAX_DECLARATIONS = 10_000;

/** Resolves a relative import to a source file, preferring TypeScript sources. */
function resolveRelative(fromFile: string, spec: string): string | undefined {
  const base = resolve(dirname(fromFile), spec);
  const stem = base.replace(/\.(m|c)?js$/, "");
  const candidates = [
    base,
    `${stem}.ts`,
    `${stem}.tsx`,
    `${stem}.mts`,
    `${stem}.cts`,
    `${stem}.js`,
    `${stem}.mjs`,
    `${stem}.cjs`,
    join(base, "index.ts"),
    join(base, "index.js"),
  ];
  return candidates.find((c) => existsSync(c) && statSync(c).isFile());
}

function packageVersion(fromFile: string, spec: string): string {
  if (isBuiltinSpecifier(spec)) return spec;
  const name = packageName(spec);
  const version = installedVersion(name, fromFile);
  // Unresolvable packages contribute their name only.
  return version === undefined ? name : `${name}@${version}`;
}

/**
 * The closure of `fn`, defined at `site`. Falls back to the function's own text when
 * the defining module cannot be read (then helpers are not tracked; `source` says so).
 */
export function codeClosure(fn: (...args: never[]) => unknown, site: CallSite | undefined): CodeClosure {
  const pin = pinned.get(fn);
  if (pin) return pin;
  const fnText = fn.toString();
  const hash = createHash("sha256");
  hash.update(fnText);
  const mod = site ? loadModule(site.file) : undefined;
  if (!mod) {
    return { hash: `sha256:${hash.digest("hex")}`, source: "function-source", declarations: [], packages: [] };
  }
  const fnNode = parseFunctionText(fnText);
  const declarations: string[] = [];
  const packages = new Set<string>();
  const seen = new Set<string>();
  const queue: { file: string; names: Iterable<string> }[] = [{ file: mod.file, names: freeNames(fnNode) }];
  // Provider sources (cells) are parsed afresh on every load: parse each once per closure.
  const loaded = new Map<string, ModuleInfo | undefined>([[mod.file, mod]]);
  const load = (file: string): ModuleInfo | undefined => {
    if (!loaded.has(file)) loaded.set(file, loadModule(file));
    return loaded.get(file);
  };
  while (queue.length > 0 && seen.size < MAX_DECLARATIONS) {
    const { file, names } = queue.shift()!;
    const info = load(file);
    if (!info) continue;
    for (const name of names) {
      const key = `${file}#${name}`;
      if (seen.has(key)) continue;
      seen.add(key);
      // Notebook cells share one namespace where the latest definition wins, even over one in this cell.
      const elsewhere = resolveElsewhere(file, name);
      if (elsewhere !== undefined && elsewhere !== file) {
        queue.push({ file: elsewhere, names: [name] });
        continue;
      }
      const decl = info.declarations.get(name);
      if (decl) {
        const text = decl.getText(info.sourceFile);
        // The task's own declaration contains the function itself: hashed already.
        if (text.includes(fnText) || (site && file === site.file && containsLine(info, decl, site.line))) continue;
        declarations.push(key);
        // By name, not path: the same code hashes the same on every machine and in every cell.
        hash.update(`\n#${name}\n${text}`);
        queue.push({ file, names: freeNames(decl) });
        continue;
      }
      const imp = info.imports.get(name);
      if (!imp) continue; // a global (console, Math) or a parameter
      if (imp.from.startsWith(".")) {
        const target = resolveRelative(file, imp.from);
        if (target && petrelSpecifierOf(target)) {
          packages.add(packageVersion(file, PETREL_PACKAGE));
        } else if (target) {
          const targetInfo = load(target);
          if (imp.imported === "*" && targetInfo) {
            queue.push({ file: target, names: [...targetInfo.declarations.keys()] });
          } else {
            queue.push({ file: target, names: [imp.imported] });
          }
        }
      } else {
        packages.add(packageVersion(file, imp.from));
      }
    }
  }
  const pkgs = [...packages].sort();
  hash.update(`\n${pkgs.join("\n")}`);
  return { hash: `sha256:${hash.digest("hex")}`, source: "code-closure", declarations, packages: pkgs };
}

function resolveElsewhere(file: string, name: string): string | undefined {
  for (const p of providers) {
    const found = p.resolveName?.(file, name);
    if (found !== undefined) return found;
  }
  return undefined;
}

function containsLine(info: ModuleInfo, node: TS.Node, line: number): boolean {
  const start = info.sourceFile.getLineAndCharacterOfPosition(node.getStart(info.sourceFile)).line + 1;
  const end = info.sourceFile.getLineAndCharacterOfPosition(node.getEnd()).line + 1;
  return line >= start && line <= end;
}

function parseFunctionText(text: string): TS.Node {
  const t = typescript();
  // Methods (`run() {}`) are not expressions on their own; wrap them in an object literal.
  for (const wrapped of [`(${text})`, `({${text}})`]) {
    const sf = t.createSourceFile("fn.ts", wrapped, t.ScriptTarget.Latest, true, t.ScriptKind.TS);
    if ((sf as unknown as { parseDiagnostics: unknown[] }).parseDiagnostics.length === 0) return sf;
  }
  return t.createSourceFile("fn.ts", text, t.ScriptTarget.Latest, true, t.ScriptKind.TS);
}

/**
 * A call site as people read it and as specs record it: relative to the working
 * directory when inside it, so the same code registered from two machines gives
 * the same spec.
 */
export function describeSite(site: CallSite): string {
  const rel = relative(process.cwd(), site.file);
  return `${rel.startsWith("..") || isAbsolute(rel) ? basename(site.file) : rel.split(sep).join("/")}:${site.line}`;
}

/** Petrel's own kernel directory (sources or dist): never a user's call site. */
const KERNEL_DIR = dirname(dirname(fileURLToPath(import.meta.url)));

/** The first stack frame outside Petrel's own files (and `skipDirs`): where the user defined something. */
export function callerSite(skipDirs: readonly string[] = []): CallSite | undefined {
  const stack = new Error().stack ?? "";
  for (const line of stack.split("\n").slice(1)) {
    const m = /\(?((?:file:\/\/)?[^\s()]+?):(\d+):(\d+)\)?\s*$/.exec(line.trim());
    if (!m) continue;
    let file = m[1]!;
    if (file.startsWith("file://")) {
      try {
        file = fileURLToPath(file);
      } catch {
        continue;
      }
    }
    if (file.startsWith("node:") || file.startsWith(KERNEL_DIR) || skipDirs.some((d) => file.startsWith(d))) continue;
    return { file, line: Number(m[2]), column: Number(m[3]) };
  }
  return undefined;
}
