/**
 * The bundle builder's view of source code: namespaces of top-level bindings
 * (a module file, or a notebook's cells where the latest definition of a name wins),
 * and how an imported name resolves: to a declaration in another local file, to a
 * package export, or to a whole local module.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import type * as TS from "typescript";
import { BUNDLE_ERRORS, BundleError } from "./errors.js";
import { isBuiltinSpecifier, petrelSpecifierOf } from "./packages.js";
import type { SourceSet, SourceText } from "./sources.js";
import { bindingNames, parseSource, typescript } from "./typescript.js";

/** Nodes that declare top-level values. */
export type DeclarationNode =
  | TS.VariableDeclaration
  | TS.FunctionDeclaration
  | TS.ClassDeclaration
  | TS.EnumDeclaration
  | TS.ModuleDeclaration
  | TS.ExportAssignment;

/** A top-level declaration: one node, binding one or more names (destructuring binds several). */
export interface Declaration {
  readonly node: DeclarationNode;
  readonly names: readonly string[];
  readonly file: string;
  readonly sourceFile: TS.SourceFile;
  readonly namespace: Namespace;
}

/** A top-level import binding. */
export interface ImportBinding {
  readonly kind: "import";
  readonly from: string;
  /** The exported name, "default", or "*" for a namespace import. */
  readonly imported: string;
  /** The importing file (relative specifiers resolve from it). */
  readonly file: string;
}

/** What a top-level name is bound to in a namespace. */
export type Binding = { readonly kind: "declaration"; readonly declaration: Declaration } | ImportBinding;

/** A namespace of top-level bindings: one module, or a notebook's cells. */
export interface Namespace {
  /** A stable id: the module's file, or the first cell's. */
  readonly id: string;
  readonly files: readonly string[];
  readonly bindings: ReadonlyMap<string, Binding>;
  /** Exported name -> local name, or a re-export from another module. */
  readonly exports: ReadonlyMap<string, { local: string } | { from: string; imported: string; file: string }>;
  /** `export * from "..."` specifiers, with the file they appear in. */
  readonly starExports: readonly { from: string; file: string }[];
}

/** Where an imported name ends up. */
export type ImportTarget =
  | { kind: "declaration"; declaration: Declaration; name: string }
  | { kind: "package"; specifier: string; imported: string }
  | { kind: "module"; namespace: Namespace };

const hasModifier = (n: TS.Node, kind: TS.SyntaxKind): boolean =>
  typescript().canHaveModifiers(n) && (typescript().getModifiers(n as TS.HasModifiers)?.some((m) => m.kind === kind) ?? false);

/** Builds a namespace from source files in order; a later binding of a name replaces an earlier one. */
export function createNamespace(files: Iterable<SourceText>): Namespace {
  const t = typescript();
  const list = [...files];
  const bindings = new Map<string, Binding>();
  const exports = new Map<string, { local: string } | { from: string; imported: string; file: string }>();
  const starExports: { from: string; file: string }[] = [];
  const namespace: Namespace = { id: list[0]?.file ?? "(empty)", files: list.map((f) => f.file), bindings, exports, starExports };

  for (const { file, text } of list) {
    const sourceFile = parseSource(file, text);
    const declare = (node: DeclarationNode, names: string[]): void => {
      const declaration: Declaration = { node, names, file, sourceFile, namespace };
      for (const name of names) bindings.set(name, { kind: "declaration", declaration });
    };
    for (const stmt of sourceFile.statements) {
      if (hasModifier(stmt, t.SyntaxKind.DeclareKeyword)) continue; // ambient: provided by someone else
      const exported = hasModifier(stmt, t.SyntaxKind.ExportKeyword);
      const isDefault = hasModifier(stmt, t.SyntaxKind.DefaultKeyword);
      if (t.isImportDeclaration(stmt) && t.isStringLiteral(stmt.moduleSpecifier)) {
        const from = stmt.moduleSpecifier.text;
        const clause = stmt.importClause;
        if (!clause || clause.isTypeOnly) continue;
        if (clause.name) bindings.set(clause.name.text, { kind: "import", from, imported: "default", file });
        const nb = clause.namedBindings;
        if (nb && t.isNamespaceImport(nb)) bindings.set(nb.name.text, { kind: "import", from, imported: "*", file });
        if (nb && t.isNamedImports(nb)) {
          for (const el of nb.elements) {
            if (!el.isTypeOnly) bindings.set(el.name.text, { kind: "import", from, imported: (el.propertyName ?? el.name).text, file });
          }
        }
      } else if (t.isVariableStatement(stmt)) {
        for (const d of stmt.declarationList.declarations) {
          const names = bindingNames(d.name);
          declare(d, names);
          if (exported) for (const n of names) exports.set(n, { local: n });
        }
      } else if (t.isFunctionDeclaration(stmt) || t.isClassDeclaration(stmt)) {
        if (t.isFunctionDeclaration(stmt) && !stmt.body) continue; // an overload signature
        const name = stmt.name?.text ?? "default";
        declare(stmt, [name]);
        if (isDefault) exports.set("default", { local: name });
        else if (exported) exports.set(name, { local: name });
      } else if (t.isEnumDeclaration(stmt) || (t.isModuleDeclaration(stmt) && t.isIdentifier(stmt.name) && stmt.body)) {
        const name = (stmt.name as TS.Identifier).text;
        declare(stmt, [name]);
        if (exported) exports.set(name, { local: name });
      } else if (t.isExportAssignment(stmt) && !stmt.isExportEquals) {
        if (t.isIdentifier(stmt.expression)) exports.set("default", { local: stmt.expression.text });
        else {
          declare(stmt, ["default"]);
          exports.set("default", { local: "default" });
        }
      } else if (t.isExportDeclaration(stmt) && !stmt.isTypeOnly) {
        const from = stmt.moduleSpecifier && t.isStringLiteral(stmt.moduleSpecifier) ? stmt.moduleSpecifier.text : undefined;
        const clause = stmt.exportClause;
        if (!clause) {
          if (from) starExports.push({ from, file });
        } else if (t.isNamespaceExport(clause)) {
          if (from) exports.set(clause.name.text, { from, imported: "*", file });
        } else {
          for (const el of clause.elements) {
            if (el.isTypeOnly) continue;
            const local = (el.propertyName ?? el.name).text;
            exports.set(el.name.text, from ? { from, imported: local, file } : { local });
          }
        }
      }
    }
  }
  return namespace;
}

/** Loads and caches the modules one build reads. */
export class ModuleLoader {
  private readonly modules = new Map<string, Namespace>();

  constructor(private readonly sources: SourceSet | undefined) {}

  /** Uses `ns` as the module in `file` (the build's entry, so imports back into it find the same declarations). */
  register(file: string, ns: Namespace): void {
    this.modules.set(file, ns);
  }

  /** The module in `file` (from the source set's text, else from disk). */
  load(file: string): Namespace {
    let ns = this.modules.get(file);
    if (!ns) {
      const text = this.sources?.read?.(file) ?? readFileSync(file, "utf8");
      ns = createNamespace([{ file, text }]);
      this.modules.set(file, ns);
    }
    return ns;
  }

  /** Resolves `imported` of `specifier`, imported by `file`. Undefined when a local module does not export it. */
  resolveImport(file: string, specifier: string, imported: string, seen = new Set<string>()): ImportTarget | undefined {
    if (!isRelative(specifier)) return { kind: "package", specifier, imported };
    const target = resolveRelative(file, specifier, this.sources);
    if (!target) {
      throw new BundleError(BUNDLE_ERRORS.UNRESOLVED_IMPORT, `${file} imports ${JSON.stringify(specifier)}, which does not exist`, {
        file,
        reason: `no file for ${specifier}`,
      });
    }
    const petrel = petrelSpecifierOf(target);
    if (petrel) return { kind: "package", specifier: petrel, imported };
    const ns = this.load(target);
    if (imported === "*") return { kind: "module", namespace: ns };
    return this.resolveExport(ns, imported, seen);
  }

  /** Resolves an exported name of a local module to what defines it. */
  resolveExport(ns: Namespace, name: string, seen = new Set<string>()): ImportTarget | undefined {
    const key = `${ns.id}#${name}`;
    if (seen.has(key)) return undefined; // an export cycle defines nothing
    seen.add(key);
    const exp = ns.exports.get(name);
    if (exp && "from" in exp) return this.resolveImport(exp.file, exp.from, exp.imported, seen);
    const local = exp ? exp.local : name;
    const binding = ns.bindings.get(local);
    if (binding?.kind === "declaration") return { kind: "declaration", declaration: binding.declaration, name: local };
    if (binding?.kind === "import") return this.resolveImport(binding.file, binding.from, binding.imported, seen);
    for (const star of ns.starExports) {
      if (name === "default") break;
      const found = this.resolveImport(star.file, star.from, name, seen);
      if (found) return found;
    }
    return undefined;
  }

  /** Names a local module exports (for `import * as ns`), `export *` included. */
  exportedNames(ns: Namespace, seen = new Set<string>()): string[] {
    if (seen.has(ns.id)) return [];
    seen.add(ns.id);
    const names = new Set(ns.exports.keys());
    for (const star of ns.starExports) {
      if (!isRelative(star.from)) continue;
      const target = resolveRelative(star.file, star.from, this.sources);
      if (target && !petrelSpecifierOf(target)) for (const n of this.exportedNames(this.load(target), seen)) if (n !== "default") names.add(n);
    }
    return [...names].sort();
  }
}

/** True for `./x` and `../x` specifiers. */
export function isRelative(specifier: string): boolean {
  return specifier.startsWith("./") || specifier.startsWith("../");
}

/** True for bare package specifiers that are npm packages (not Node built-ins). */
export function isPackageSpecifier(specifier: string): boolean {
  return !isRelative(specifier) && !isBuiltinSpecifier(specifier);
}

/** Resolves a relative import to a source file, preferring TypeScript sources as NodeNext projects do. */
export function resolveRelative(fromFile: string, specifier: string, sources?: SourceSet): string | undefined {
  const base = resolve(dirname(fromFile), specifier);
  const stem = base.replace(/\.(m|c)?(j|t)sx?$/, "");
  const candidates = [
    `${stem}.ts`,
    `${stem}.tsx`,
    `${stem}.mts`,
    `${stem}.cts`,
    base,
    `${stem}.js`,
    `${stem}.mjs`,
    `${stem}.cjs`,
    join(base, "index.ts"),
    join(base, "index.js"),
  ];
  return candidates.find((c) => sources?.read?.(c) !== undefined || (existsSync(c) && statSync(c).isFile()));
}
