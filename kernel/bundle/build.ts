/**
 * The bundle builder: from notebook cells or a .ts file to one JS module holding
 * exactly the top-level declarations that some tasks, workflows and launch plans
 * need, transitively, plus a manifest of their compiled specs and package versions.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { dirname, relative, resolve, sep } from "node:path";
import type * as TS from "typescript";
import { stableStringify, type EntitySet, type LaunchPlanSpec, type TaskSpec, type WorkflowSpec } from "../model/index.js";
import { isAssetKey, type BundleAsset } from "./assets.js";
import { codeClosure, type CallSite } from "./closure.js";
import { BUNDLE_ERRORS, BundleError } from "./errors.js";
import { freeReferences, type FreeReference } from "./free-names.js";
import {
  createNamespace,
  isPackageSpecifier,
  ModuleLoader,
  type Declaration,
  type ImportTarget,
  type Namespace,
} from "./modules.js";
import { installedVersion, packageName, PETREL_PACKAGE } from "./packages.js";
import { unshippableReason, type NameLookup } from "./shippable.js";
import { cellExecutionCount, fileSources, type SourceSet } from "./sources.js";
import { typescript } from "./typescript.js";

/** The bundle format version this builder writes and the loader reads. */
export const BUNDLE_FORMAT_VERSION = 1;

/** What the builder needs of a task, workflow or launch plan; the objects `task()`, `workflow()` and `launchPlan()` return have it. */
export interface BundleEntity {
  readonly kind: "task" | "workflow" | "launch_plan";
  readonly name: string;
  readonly spec: TaskSpec | WorkflowSpec | LaunchPlanSpec;
  /** Where a task was defined (used to pick its declaration and to detect stale definitions). */
  readonly site?: CallSite | undefined;
  /** Workflows and launch plans: every entity they use, transitively. */
  readonly entities?: {
    readonly tasks: ReadonlyMap<string, unknown>;
    readonly workflows: ReadonlyMap<string, unknown>;
    readonly launchPlans: ReadonlyMap<string, unknown>;
  };
  /** Files the entity reads at run time (a notebook task's notebook): shipped in the manifest's `assets`. */
  readonly assets?: readonly BundleAsset[];
}

/** Kinds of entity, as manifests name them. */
export type EntityKind = BundleEntity["kind"];

/** The manifest of a bundle: what it defines and needs. Part of the bundle's hash. */
export interface BundleManifest {
  version: typeof BUNDLE_FORMAT_VERSION;
  /** Every entity the bundle defines, transitively, by name (what registration registers). */
  entities: { tasks: string[]; workflows: string[]; launchPlans: string[] };
  /** The module's exports: declaration name -> the entity it holds. */
  exports: Record<string, { kind: EntityKind; name: string }>;
  /** The shipped top-level declarations, by the name they have in the bundle, in the order the module defines them. */
  declarations: string[];
  /** npm packages the code imports -> the version installed where the bundle was built (`petrel` included). */
  packages: Record<string, string>;
  /**
   * On-disk source files declarations came from, relative to the build's root
   * directory, `/`-separated. Cells are not listed: their file names carry execution
   * counts, which must not change the hash when an unchanged cell is re-run.
   */
  files: string[];
  /**
   * The compiled specs of every entity, as the source session computed them (cache
   * versions included). Only `source`, which is for people, is made portable: relative
   * to the build's root directory for files, left out for cells.
   */
  specs: EntitySet;
  /**
   * Files entities read at run time beside their code (a notebook task's notebook):
   * path relative to the build's root directory (`/`-separated, may start with
   * `../`) -> text. Part of the hash; absent when no entity has any.
   */
  assets?: Record<string, string>;
  /** The assets of each entity that has some, by entity name: keys of `assets`. Absent when no entity has any. */
  entityAssets?: Record<string, string[]>;
}

/** One shipped declaration and where it came from (for people; not part of the hash). */
export interface ShippedDeclaration {
  /** Its name in the bundle. */
  name: string;
  /** Its name in the source (differs when two files declare the same name). */
  declared: string;
  file: string;
  /** The file as people know it: a cell label ("cell [3]") or a path relative to the root directory. */
  label: string;
  line: number;
}

/**
 * A built bundle: one ES module plus its manifest. `hash` (`sha256:<hex>` of
 * `bytes()`) is the default version of what it registers; building again from
 * unchanged sources gives the same hash.
 */
export interface Bundle {
  /** The JS module: imports, declarations in dependency order, exports of the requested entities. */
  readonly code: string;
  readonly manifest: BundleManifest;
  readonly hash: string;
  /** The canonical serialization, `{"code":…,"manifest":…}` with sorted keys, UTF-8: what is stored and hashed. */
  bytes(): Uint8Array;
  /** Where each shipped declaration came from. */
  readonly sources: readonly ShippedDeclaration[];
  /** What would ship, for people: hash, size, exports, entities, declarations, packages. */
  toString(): string;
}

/** Options of `buildBundle()`. */
export interface BuildBundleOptions {
  /** The sources: notebook cells (`createCellSources()`) or any SourceSet. */
  sources?: SourceSet;
  /** A .ts (or .js) module to read instead of `sources`. When neither is given, the file the entities were defined in. */
  entry?: string;
  /** Directory that manifest paths are relative to. Default: the entry's directory, the cells' directory, or the working directory. */
  root?: string;
}

/** The entities to bundle: an array of entities, or declaration names mapped to their values (`{ training }`). */
export type BundleRoots = readonly BundleEntity[] | Readonly<Record<string, unknown>>;

/**
 * Builds a bundle holding the given entities and exactly the declarations they need.
 *
 * Which declarations: each entity's defining declaration (with the record form,
 * `buildBundle({ training }, …)`, the top-level declaration of that name; with an
 * array, the declaration whose `task/workflow/launchPlan({ name: "…" })` call names
 * the entity), then every top-level name those read, transitively: helpers,
 * constants, classes, enums, across cells (the latest definition of a name wins) and
 * into relatively imported files, whose declarations are inlined (renamed when two
 * files declare one name). Statements that are not declarations (prints, runs,
 * awaits) never ship. Types are erased: the code is transpiled to JS. Package imports
 * stay imports (`petrel`, and relative imports of Petrel's own sources, become
 * `petrel`) and their installed versions go in the manifest.
 *
 * Specs come from the live entities, so each task's cache version is the one the
 * source session uses; `loadBundle` makes the loaded tasks report exactly those
 * versions (see there).
 *
 * Files that entities read at run time (a notebook task's notebook, as it was when
 * the task was defined) travel in the manifest's `assets`, keyed by path relative to
 * the root directory, so they are part of the hash too.
 *
 * @throws BundleError `UNDEFINED_NAME` for a requested or used name defined nowhere,
 *   `UNSHIPPABLE` for a declaration whose value is not a definition (see
 *   `shippable.ts`), `STALE_ENTITY` for an entity that is not the latest definition of
 *   its name, `DECLARATION_NOT_FOUND`, `NOT_AN_ENTITY`, `UNRESOLVED_IMPORT`.
 *
 * @example
 * ```ts
 * const bundle = buildBundle([training], { entry: "notebooks/examples/training.ts" });
 * bundle.hash;                 // "sha256:…"
 * writeFileSync("training.bundle", bundle.bytes());
 * ```
 */
export function buildBundle(roots: BundleRoots, options: BuildBundleOptions = {}): Bundle {
  return new Builder(options).build(roots);
}

interface DeclSym {
  kind: "decl";
  key: string;
  decl: Declaration;
}
interface PackageSym {
  kind: "package";
  key: string;
  specifier: string;
  imported: string;
  /** The importing file, to find the installed version from. */
  from: string;
  preferred: string;
}
interface ModuleSym {
  kind: "module";
  key: string;
  namespace: Namespace;
  preferred: string;
}
type Sym = DeclSym | PackageSym | ModuleSym;

/** A name resolved: the symbol and, for declarations binding several names, which one. */
interface Resolved {
  sym: Sym;
  name: string;
}

interface DeclInfo {
  /** Each free reference and what it resolves to; `span` is the `ns.member` access a reference to a module member replaces. */
  refs: { ref: FreeReference; target: Resolved | undefined; span?: TS.Node }[];
  deps: Sym[];
}

/** CommonJS-only names: globals in a CommonJS process, undefined in an ES module bundle. */
const COMMONJS_NAMES = new Set(["require", "module", "exports", "__dirname", "__filename"]);

class Builder {
  private readonly sources: SourceSet;
  private readonly root: string;
  private readonly loader: ModuleLoader;
  private readonly rootNs: Namespace;
  private readonly syms = new Map<string, Sym>();
  private readonly infos = new Map<string, DeclInfo>();
  /** How each symbol was first reached, for error messages. */
  private readonly parent = new Map<string, { sym: Sym; name: string } | undefined>();
  private readonly globals = new Set<string>();

  constructor(private readonly options: BuildBundleOptions) {
    const entry = options.entry ? resolve(options.entry) : undefined;
    this.sources = options.sources ?? (entry ? fileSources(entry) : { files: () => [] });
    const files = entry ? [{ file: entry, text: this.sources.read?.(entry) ?? readFileSync(entry, "utf8") }] : [...this.sources.files()];
    const cellsDir = (this.sources as { dir?: unknown }).dir;
    this.root = resolve(options.root ?? (entry ? dirname(entry) : typeof cellsDir === "string" ? cellsDir : files[0] ? dirname(files[0].file) : process.cwd()));
    this.loader = new ModuleLoader(this.sources);
    this.rootNs = createNamespace(files);
    if (files.length === 1) this.loader.register(files[0]!.file, this.rootNs);
  }

  build(roots: BundleRoots): Bundle {
    if (this.rootNs.files.length === 0) {
      // No sources given: the file the entities were defined in.
      const inferred = inferEntry(roots);
      if (!inferred) {
        throw new BundleError(
          BUNDLE_ERRORS.DECLARATION_NOT_FOUND,
          "buildBundle: no sources to read: pass { sources } (notebook cells) or { entry } (a .ts file)",
        );
      }
      return new Builder({ ...this.options, entry: inferred }).build(roots);
    }
    const requested = this.locateRoots(roots);
    const entities = collectEntities(requested.map((r) => r.entity));

    for (const r of requested) this.reach(r.resolved, undefined);
    this.checkStale(entities);

    const names = this.assignNames(requested);
    const order = this.emissionOrder(requested, names);
    const { code, shipped } = this.emit(requested, order, names);

    const manifest: BundleManifest = {
      version: BUNDLE_FORMAT_VERSION,
      entities: {
        tasks: [...entities.tasks.keys()].sort(),
        workflows: [...entities.workflows.keys()].sort(),
        launchPlans: [...entities.launchPlans.keys()].sort(),
      },
      exports: Object.fromEntries(
        [...requested].sort((a, b) => cmp(a.exportName, b.exportName)).map((r) => [r.exportName, { kind: r.entity.kind, name: r.entity.name }]),
      ),
      declarations: shipped.map((s) => s.name),
      packages: this.packages(),
      files: this.diskFiles(),
      specs: {
        tasks: sortByName([...entities.tasks.values()].map((e) => this.portableSpec(e) as TaskSpec)),
        workflows: sortByName([...entities.workflows.values()].map((e) => this.portableSpec(e) as WorkflowSpec)),
        launchPlans: sortByName([...entities.launchPlans.values()].map((e) => this.portableSpec(e) as LaunchPlanSpec)),
      },
      ...this.assets(entities),
    };
    return createBundle(code, manifest, shipped);
  }

  // ---- roots ----

  private locateRoots(roots: BundleRoots): { exportName: string; resolved: Resolved; entity: BundleEntity }[] {
    const out = new Map<string, { exportName: string; resolved: Resolved; entity: BundleEntity }>();
    if (Array.isArray(roots)) {
      for (const entity of roots as readonly unknown[]) {
        if (!isEntity(entity)) {
          throw new BundleError(BUNDLE_ERRORS.NOT_AN_ENTITY, `buildBundle: ${describeValue(entity)} is not a task, workflow or launch plan`);
        }
        const { exportName, resolved } = this.locate(entity);
        const seen = out.get(exportName);
        if (seen && seen.entity !== entity) {
          throw new BundleError(BUNDLE_ERRORS.STALE_ENTITY, `buildBundle: ${exportName} is requested twice with different values`, {
            declaration: exportName,
          });
        }
        out.set(exportName, { exportName, resolved, entity });
      }
    } else {
      for (const [name, value] of Object.entries(roots as Record<string, unknown>).sort(([a], [b]) => cmp(a, b))) {
        const binding = this.rootNs.bindings.get(name);
        if (value === undefined || value === null) {
          throw new BundleError(
            BUNDLE_ERRORS.UNDEFINED_NAME,
            binding ? `${name} is ${String(value)}: it is declared but holds no task, workflow or launch plan` : `${name} is not defined`,
            { declaration: name },
          );
        }
        if (!isEntity(value)) {
          throw new BundleError(BUNDLE_ERRORS.NOT_AN_ENTITY, `${name} is ${describeValue(value)}, not a task, workflow or launch plan`, {
            declaration: name,
          });
        }
        if (!binding) {
          throw new BundleError(
            BUNDLE_ERRORS.DECLARATION_NOT_FOUND,
            `${name} is not declared in the sources (${this.rootNs.files.map((f) => this.label(f)).join(", ")}), so its code cannot be shipped`,
            { declaration: name },
          );
        }
        const resolved = this.resolveName(this.rootNs, name, undefined)!;
        if (resolved.sym.kind === "decl") {
          const defined = definedEntity(resolved.sym.decl.node);
          if (defined && defined.name !== undefined && (defined.kind !== value.kind || defined.name !== value.name)) {
            throw new BundleError(
              BUNDLE_ERRORS.STALE_ENTITY,
              `${name} holds ${kindLabel(value.kind)} ${value.name}, but its latest declaration (${this.where(resolved.sym.decl)}) defines ${kindLabel(defined.kind)} ${defined.name}: run that cell again`,
              { declaration: name, file: this.label(resolved.sym.decl.file), line: lineOf(resolved.sym.decl) },
            );
          }
        }
        out.set(name, { exportName: name, resolved, entity: value });
      }
    }
    if (out.size === 0) throw new BundleError(BUNDLE_ERRORS.NOT_AN_ENTITY, "buildBundle: no entities given");
    return [...out.values()];
  }

  /** Finds the root-namespace name whose declaration defines `entity`. */
  private locate(entity: BundleEntity): { exportName: string; resolved: Resolved } {
    const candidates: { exportName: string; resolved: Resolved & { sym: DeclSym } }[] = [];
    for (const name of [...this.rootNs.bindings.keys()].sort(cmp)) {
      const resolved = this.tryResolve(this.rootNs, name);
      if (resolved?.sym.kind !== "decl") continue;
      const defined = definedEntity(resolved.sym.decl.node);
      if (defined?.kind === entity.kind && defined.name === entity.name && !candidates.some((c) => c.resolved.sym === resolved.sym)) {
        candidates.push({ exportName: name, resolved: resolved as Resolved & { sym: DeclSym } });
      }
    }
    let chosen = candidates;
    const siteFile = entity.site?.file;
    if (chosen.length > 1 && siteFile) chosen = chosen.filter((c) => c.resolved.sym.decl.file === siteFile);
    if (chosen.length === 1) return chosen[0]!;
    if (chosen.length > 1) {
      throw new BundleError(
        BUNDLE_ERRORS.DECLARATION_NOT_FOUND,
        `several declarations define ${kindLabel(entity.kind)} ${entity.name} (${chosen.map((c) => c.exportName).join(", ")}); pass the one to ship by name: buildBundle({ ${chosen[0]!.exportName} }, …)`,
        { declaration: entity.name },
      );
    }
    const byName = this.tryResolve(this.rootNs, entity.name);
    if (byName) return { exportName: entity.name, resolved: byName };
    throw new BundleError(
      BUNDLE_ERRORS.DECLARATION_NOT_FOUND,
      `no declaration in ${this.rootNs.files.map((f) => this.label(f)).join(", ")} defines ${kindLabel(entity.kind)} ${entity.name}; pass it by the name it is declared under: buildBundle({ name }, …)`,
      { declaration: entity.name },
    );
  }

  // ---- resolution and the closure walk ----

  private tryResolve(ns: Namespace, name: string): Resolved | undefined {
    try {
      return this.resolveName(ns, name, undefined);
    } catch {
      return undefined;
    }
  }

  /** What `name` means at the top level of `ns`: a symbol, or undefined for a global. Throws for an unknown name. */
  private resolveName(ns: Namespace, name: string, user: { sym: Sym; name: string } | undefined): Resolved | undefined {
    const binding = ns.bindings.get(name);
    if (!binding) {
      if (COMMONJS_NAMES.has(name) || !(name in globalThis)) throw this.undefinedName(name, user);
      this.globals.add(name);
      return undefined;
    }
    if (binding.kind === "declaration") return { sym: this.declSym(binding.declaration), name };
    const target = this.loader.resolveImport(binding.file, binding.from, binding.imported);
    if (!target) {
      throw new BundleError(
        BUNDLE_ERRORS.UNDEFINED_NAME,
        `${name} is imported from ${JSON.stringify(binding.from)} in ${this.label(binding.file)}, which does not export ${binding.imported}`,
        { declaration: name, file: this.label(binding.file), ...(user ? { path: this.pathTo(user.sym, user.name) } : {}) },
      );
    }
    return this.targetSym(target, name, binding.file);
  }

  private targetSym(target: ImportTarget, localName: string, from: string): Resolved {
    if (target.kind === "declaration") return { sym: this.declSym(target.declaration), name: target.name };
    if (target.kind === "package") {
      const key = `pkg:${target.specifier}|${target.imported}`;
      let sym = this.syms.get(key);
      if (!sym) this.syms.set(key, (sym = { kind: "package", key, specifier: target.specifier, imported: target.imported, from, preferred: localName }));
      return { sym, name: localName };
    }
    const key = `mod:${target.namespace.id}`;
    let sym = this.syms.get(key);
    if (!sym) this.syms.set(key, (sym = { kind: "module", key, namespace: target.namespace, preferred: localName }));
    return { sym, name: localName };
  }

  private declSym(decl: Declaration): DeclSym {
    const key = `decl:${decl.file}:${decl.node.pos}`;
    let sym = this.syms.get(key);
    if (!sym) this.syms.set(key, (sym = { kind: "decl", key, decl }));
    return sym as DeclSym;
  }

  private undefinedName(name: string, user: { sym: Sym; name: string } | undefined): BundleError {
    const usedBy = user?.sym.kind === "decl" ? user.sym.decl : undefined;
    const hint = COMMONJS_NAMES.has(name) ? ` (${name} exists only in CommonJS; a bundle is an ES module: use import)` : "";
    return new BundleError(
      BUNDLE_ERRORS.UNDEFINED_NAME,
      usedBy
        ? `${name} is not defined${hint}: ${user!.name} (${this.where(usedBy)}) uses it, but no declaration or import in the sources defines it${this.via(user!.sym, user!.name)}`
        : `${name} is not defined${hint}`,
      {
        declaration: name,
        ...(usedBy ? { file: this.label(usedBy.file), line: lineOf(usedBy), path: [...this.pathTo(user!.sym, user!.name), name] } : {}),
      },
    );
  }

  /** Adds a symbol and, transitively, everything it needs. */
  private reach(resolved: Resolved | undefined, from: { sym: Sym; name: string } | undefined): void {
    if (!resolved) return;
    const stack: { sym: Sym; name: string; from: { sym: Sym; name: string } | undefined }[] = [{ ...resolved, from }];
    while (stack.length > 0) {
      const { sym, name, from: by } = stack.pop()!;
      if (this.parent.has(sym.key)) continue;
      this.parent.set(sym.key, by);
      if (sym.kind === "package") continue;
      if (sym.kind === "module") {
        const deps: Sym[] = [];
        for (const exported of this.loader.exportedNames(sym.namespace)) {
          const target = this.loader.resolveExport(sym.namespace, exported);
          if (!target) continue;
          const r = this.targetSym(target, exported, sym.namespace.id);
          deps.push(r.sym);
          stack.push({ ...r, from: { sym, name } });
        }
        this.infos.set(sym.key, { refs: [], deps });
        continue;
      }
      const decl = sym.decl;
      const t = typescript();
      const reason = unshippableReason(decl.node, this.lookupFor(decl.namespace));
      if (reason) {
        const path = by ? [...this.pathTo(by.sym, by.name), name] : [name];
        throw new BundleError(
          BUNDLE_ERRORS.UNSHIPPABLE,
          `${name} (${this.where(decl)}) cannot be shipped: ${reason}${path.length > 1 ? `. The bundle needs it through ${path.join(" → ")}` : ""}. Compute it inside a task instead, or mark the declaration /** @ship */ if re-running it where the bundle loads is right`,
          { declaration: name, file: this.label(decl.file), line: lineOf(decl), reason, path },
        );
      }
      const info: DeclInfo = { refs: [], deps: [] };
      this.infos.set(sym.key, info);
      for (const ref of freeReferences(decl.node)) {
        let target = this.resolveName(decl.namespace, ref.name, { sym, name });
        let span: TS.Node | undefined;
        const access = ref.node.parent;
        if (target?.sym.kind === "module" && t.isPropertyAccessExpression(access) && access.expression === ref.node && t.isIdentifier(access.name)) {
          // `stats.mean` of `import * as stats from "./stats.js"`: ship mean alone, not the whole module.
          const member = this.loader.resolveExport(target.sym.namespace, access.name.text);
          if (!member) {
            throw new BundleError(
              BUNDLE_ERRORS.UNDEFINED_NAME,
              `${ref.name}.${access.name.text} is not defined: ${this.label(target.sym.namespace.id)} does not export ${access.name.text} (used by ${name}, ${this.where(decl)})`,
              { declaration: `${ref.name}.${access.name.text}`, file: this.label(decl.file), line: lineOf(decl), path: [...this.pathTo(sym, name)] },
            );
          }
          target = this.targetSym(member, access.name.text, target.sym.namespace.id);
          span = access;
        }
        info.refs.push({ ref, target, ...(span ? { span } : {}) });
        if (target && target.sym !== sym) {
          if (!info.deps.includes(target.sym)) info.deps.push(target.sym);
          stack.push({ ...target, from: { sym, name } });
        }
      }
    }
  }

  private lookupFor(ns: Namespace): NameLookup {
    return {
      petrelImport: (name) => {
        const b = ns.bindings.get(name);
        if (b?.kind !== "import") return undefined;
        try {
          const target = this.loader.resolveImport(b.file, b.from, b.imported);
          return target?.kind === "package" && target.specifier === PETREL_PACKAGE ? target.imported : undefined;
        } catch {
          return undefined;
        }
      },
      isBound: (name) => ns.bindings.has(name),
    };
  }

  /** Entities used by the requested ones must be the latest definitions of their names, or the specs would not match the code. */
  private checkStale(entities: CollectedEntities): void {
    const known = new Set<string>([...this.rootNs.files]);
    const defining = new Map<string, Declaration>();
    for (const sym of this.syms.values()) {
      if (sym.kind !== "decl" || !this.parent.has(sym.key)) continue;
      known.add(sym.decl.file);
      const defined = definedEntity(sym.decl.node);
      if (defined?.name !== undefined) defining.set(`${defined.kind}:${defined.name}`, sym.decl);
    }
    for (const map of [entities.tasks, entities.workflows, entities.launchPlans]) {
      for (const entity of map.values()) {
        const file = siteFileOf(entity);
        const decl = defining.get(`${entity.kind}:${entity.name}`);
        if (!file || !decl || !known.has(file) || file === decl.file) continue;
        throw new BundleError(
          BUNDLE_ERRORS.STALE_ENTITY,
          `${kindLabel(entity.kind)} ${entity.name} in use was defined in ${this.label(file)}, but its latest definition is in ${this.where(decl)}; run the cells that use it again so they pick up the latest definition`,
          { declaration: entity.name, file: this.label(decl.file), line: lineOf(decl) },
        );
      }
    }
  }

  // ---- naming, ordering, emitting ----

  private included(): Sym[] {
    return [...this.syms.values()].filter((s) => this.parent.has(s.key));
  }

  /** Bundle names: root-namespace names keep theirs; others keep theirs unless taken, then `name$1`. Never a global in use. */
  private assignNames(requested: { exportName: string; resolved: Resolved }[]): Map<string, string> {
    const names = new Map<string, string>();
    const taken = new Set(this.globals);
    const take = (key: string, preferred: string): void => {
      let name = preferred;
      for (let i = 1; taken.has(name); i++) name = `${preferred}$${i}`;
      taken.add(name);
      names.set(key, name);
    };
    const included = this.included();
    const rootDecls = included.filter((s): s is DeclSym => s.kind === "decl" && s.decl.namespace === this.rootNs);
    const rootPairs = rootDecls.flatMap((s) => s.decl.names.map((n) => ({ key: `${s.key}#${n}`, name: n }))).sort((a, b) => cmp(a.name, b.name));
    for (const { key, name } of rootPairs) take(key, name);
    // A package imported by the root namespace keeps the root's local name.
    for (const r of requested) if (r.resolved.sym.kind === "package") r.resolved.sym.preferred = r.exportName;
    for (const name of [...this.rootNs.bindings.keys()].sort(cmp).reverse()) {
      if (this.rootNs.bindings.get(name)?.kind !== "import") continue;
      const r = this.tryResolve(this.rootNs, name);
      if (r && r.sym.kind === "package" && this.parent.has(r.sym.key)) r.sym.preferred = name;
    }
    const packages = included.filter((s): s is PackageSym => s.kind === "package").sort((a, b) => cmp(a.key, b.key));
    for (const s of packages) take(s.key, s.preferred);
    const rest = included
      .filter((s): s is DeclSym | ModuleSym => (s.kind === "decl" && s.decl.namespace !== this.rootNs) || s.kind === "module")
      .flatMap((s) =>
        s.kind === "decl"
          ? s.decl.names.map((n) => ({ key: `${s.key}#${n}`, name: n, file: this.relativePath(s.decl.file) }))
          : [{ key: s.key, name: s.preferred, file: this.relativePath(s.namespace.id) }],
      )
      .sort((a, b) => cmp(a.file, b.file) || cmp(a.name, b.name));
    for (const { key, name } of rest) take(key, name === "default" ? "_default" : name);
    return names;
  }

  private nameOf(names: Map<string, string>, r: Resolved): string {
    return r.sym.kind === "decl" ? names.get(`${r.sym.key}#${r.name}`)! : names.get(r.sym.key)!;
  }

  /** Dependencies first (depth-first, post-order), ties broken by bundle name so cell order and numbering never matter. */
  private emissionOrder(requested: { resolved: Resolved }[], names: Map<string, string>): (DeclSym | ModuleSym)[] {
    const order: (DeclSym | ModuleSym)[] = [];
    const state = new Map<string, "visiting" | "done">();
    const label = (s: Sym): string => (s.kind === "decl" ? names.get(`${s.key}#${s.decl.names[0]}`)! : names.get(s.key)!);
    const byName = (a: Sym, b: Sym): number => cmp(label(a), label(b));
    const visit = (sym: Sym): void => {
      if (sym.kind === "package" || state.has(sym.key)) return; // visiting: a cycle, fine among functions
      state.set(sym.key, "visiting");
      for (const dep of [...(this.infos.get(sym.key)?.deps ?? [])].sort(byName)) visit(dep);
      state.set(sym.key, "done");
      order.push(sym);
    };
    for (const sym of requested.map((r) => r.resolved.sym).sort(byName)) visit(sym);
    return order;
  }

  private emit(
    requested: { exportName: string; resolved: Resolved }[],
    order: (DeclSym | ModuleSym)[],
    names: Map<string, string>,
  ): { code: string; shipped: ShippedDeclaration[] } {
    const t = typescript();
    const lines: string[] = [];
    // Imports, grouped by module, sorted.
    const bySpecifier = new Map<string, PackageSym[]>();
    for (const s of this.included()) {
      if (s.kind !== "package") continue;
      const list = bySpecifier.get(s.specifier) ?? [];
      list.push(s);
      bySpecifier.set(s.specifier, list);
    }
    for (const specifier of [...bySpecifier.keys()].sort(cmp)) {
      const syms = bySpecifier.get(specifier)!;
      const from = JSON.stringify(specifier);
      for (const s of syms.filter((x) => x.imported === "*").sort((a, b) => cmp(names.get(a.key)!, names.get(b.key)!))) {
        lines.push(`import * as ${names.get(s.key)} from ${from};`);
      }
      const def = syms.filter((x) => x.imported === "default").map((x) => names.get(x.key)!).sort(cmp);
      const named = syms
        .filter((x) => x.imported !== "*" && x.imported !== "default")
        .map((x) => {
          const local = names.get(x.key)!;
          const imported = isIdentifierName(x.imported) ? x.imported : JSON.stringify(x.imported);
          return imported === local ? local : `${imported} as ${local}`;
        })
        .sort(cmp);
      // A second default import under another name is another binding of the same thing.
      const parts = [...(def[0] ? [def[0]] : []), ...(named.length ? [`{ ${named.join(", ")} }`] : [])];
      if (parts.length) lines.push(`import ${parts.join(", ")} from ${from};`);
      for (const extra of def.slice(1)) lines.push(`import ${extra} from ${from};`);
    }
    if (lines.length) lines.push("");

    const shipped: ShippedDeclaration[] = [];
    for (const sym of order) {
      if (sym.kind === "module") {
        const deps = this.loader.exportedNames(sym.namespace).flatMap((exported) => {
          const target = this.loader.resolveExport(sym.namespace, exported);
          if (!target) return [];
          const r = this.targetSym(target, exported, sym.namespace.id);
          return [`${JSON.stringify(exported)}: ${this.nameOf(names, r)}`];
        });
        lines.push(`const ${names.get(sym.key)} = Object.freeze({ __proto__: null, ${deps.join(", ")} });`);
        continue;
      }
      lines.push(this.emitDeclaration(sym, names), "");
      for (const n of sym.decl.names) {
        shipped.push({
          name: names.get(`${sym.key}#${n}`)!,
          declared: n,
          file: sym.decl.file,
          label: this.label(sym.decl.file),
          line: lineOf(sym.decl),
        });
      }
    }
    const exports = [...requested]
      .sort((a, b) => cmp(a.exportName, b.exportName))
      .map((r) => {
        const local = this.nameOf(names, r.resolved);
        return local === r.exportName ? local : `${local} as ${r.exportName}`;
      });
    lines.push(`export { ${exports.join(", ")} };`, "");
    const out = t.transpileModule(lines.join("\n"), {
      fileName: "bundle.ts",
      compilerOptions: {
        target: t.ScriptTarget.ES2022,
        module: t.ModuleKind.ESNext,
        isolatedModules: true,
        preserveConstEnums: true,
        useDefineForClassFields: true,
        verbatimModuleSyntax: false,
        sourceMap: false,
        inlineSourceMap: false,
        newLine: t.NewLineKind.LineFeed,
      },
    });
    return { code: `// Petrel bundle: generated from the sources listed in its manifest.\n${out.outputText}`, shipped };
  }

  /** One declaration's TypeScript, with `export`/`default` dropped and names changed to their bundle names. */
  private emitDeclaration(sym: DeclSym, names: Map<string, string>): string {
    const t = typescript();
    const { node, sourceFile } = sym.decl;
    const info = this.infos.get(sym.key)!;
    const edits: { start: number; end: number; text: string }[] = [];
    for (const { ref, target, span } of info.refs) {
      if (!target) continue;
      const name = this.nameOf(names, target);
      if (span) edits.push({ start: span.getStart(sourceFile), end: span.getEnd(), text: name });
      else if (name !== ref.name) edits.push({ start: ref.node.getStart(sourceFile), end: ref.node.getEnd(), text: ref.shorthand ? `${ref.name}: ${name}` : name });
    }
    const own = (n: string): string => names.get(`${sym.key}#${n}`)!;
    const renameBinding = (b: TS.BindingName): void => {
      if (t.isIdentifier(b)) {
        if (own(b.text) !== b.text) edits.push({ start: b.getStart(sourceFile), end: b.getEnd(), text: own(b.text) });
        return;
      }
      for (const el of b.elements) {
        if (t.isOmittedExpression(el)) continue;
        if (t.isObjectBindingPattern(b) && !el.propertyName && t.isIdentifier(el.name) && own(el.name.text) !== el.name.text) {
          edits.push({ start: el.name.getStart(sourceFile), end: el.name.getEnd(), text: `${el.name.text}: ${own(el.name.text)}` });
        } else {
          renameBinding(el.name);
        }
      }
    };
    const dropModifiers = (n: TS.Node): void => {
      for (const m of (t.canHaveModifiers(n) ? t.getModifiers(n) : undefined) ?? []) {
        if (m.kind === t.SyntaxKind.ExportKeyword || m.kind === t.SyntaxKind.DefaultKeyword) {
          let end = m.getEnd();
          while (/\s/.test(sourceFile.text[end] ?? "")) end++;
          edits.push({ start: m.getStart(sourceFile), end, text: "" });
        }
      }
    };
    const slice = (start: number, end: number): string => applyEdits(sourceFile.text, start, end, edits);

    if (t.isVariableDeclaration(node)) {
      renameBinding(node.name);
      const flags = node.parent.flags;
      const keyword = flags & t.NodeFlags.Const || flags & t.NodeFlags.Using ? "const" : flags & t.NodeFlags.Let ? "let" : "var";
      return `${keyword} ${slice(node.getStart(sourceFile), node.getEnd())};`;
    }
    if (t.isExportAssignment(node)) {
      return `const ${own("default")} = ${slice(node.expression.getStart(sourceFile), node.expression.getEnd())};`;
    }
    dropModifiers(node);
    const named = (t.isFunctionDeclaration(node) || t.isClassDeclaration(node)) && node.name;
    if (named || t.isEnumDeclaration(node) || t.isModuleDeclaration(node)) {
      const id = (node as { name: TS.Identifier }).name;
      if (own(id.text) !== id.text) edits.push({ start: id.getStart(sourceFile), end: id.getEnd(), text: own(id.text) });
      return slice(node.getStart(sourceFile), node.getEnd());
    }
    // `export default function () {}` / `export default class {}`: an expression under its bundle name.
    return `const ${own("default")} = ${slice(node.getStart(sourceFile), node.getEnd())};`;
  }

  // ---- manifest helpers ----

  /** The entities' assets, keyed by path relative to the root; one path with two different texts is an error. */
  private assets(entities: CollectedEntities): Pick<BundleManifest, "assets" | "entityAssets"> {
    const assets = new Map<string, string>();
    const entityAssets: Record<string, string[]> = {};
    for (const map of [entities.tasks, entities.workflows, entities.launchPlans]) {
      for (const entity of [...map.values()].sort((a, b) => cmp(a.name, b.name))) {
        for (const asset of entity.assets ?? []) {
          const key = this.relativePath(resolve(asset.path));
          if (!isAssetKey(key)) {
            throw new BundleError(BUNDLE_ERRORS.INVALID_BUNDLE, `${kindLabel(entity.kind)} ${entity.name} reads ${asset.path}, which cannot be shipped under the path ${JSON.stringify(key)}`, {
              declaration: entity.name,
            });
          }
          const seen = assets.get(key);
          if (seen !== undefined && seen !== asset.text) {
            throw new BundleError(
              BUNDLE_ERRORS.STALE_ENTITY,
              `${kindLabel(entity.kind)} ${entity.name} reads ${key} with other content than another entity of the bundle does: the file changed between their definitions; define them again`,
              { declaration: entity.name, file: key },
            );
          }
          assets.set(key, asset.text);
          const list = (entityAssets[entity.name] ??= []);
          if (!list.includes(key)) list.push(key);
        }
      }
    }
    if (assets.size === 0) return {};
    return {
      assets: Object.fromEntries([...assets].sort(([a], [b]) => cmp(a, b))),
      entityAssets: Object.fromEntries(Object.entries(entityAssets).sort(([a], [b]) => cmp(a, b)).map(([k, v]) => [k, v.sort(cmp)])),
    };
  }

  private packages(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const s of this.included()) {
      if (s.kind !== "package" || !isPackageSpecifier(s.specifier)) continue;
      const name = packageName(s.specifier);
      out[name] ??= installedVersion(name, s.from) ?? "*";
    }
    return Object.fromEntries(Object.entries(out).sort(([a], [b]) => cmp(a, b)));
  }

  private diskFiles(): string[] {
    const files = new Set<string>();
    for (const s of this.included()) {
      if (s.kind !== "decl") continue;
      if (!existsSync(s.decl.file)) continue; // a cell, not a file
      files.add(this.relativePath(s.decl.file));
    }
    return [...files].sort(cmp);
  }

  /**
   * An entity's spec as the manifest records it: unchanged, except `source` (for
   * people), made independent of where the build ran: relative to the build's root
   * directory for files, and left out for cells, whose names carry execution counts
   * that change each time an unchanged cell is re-run.
   */
  private portableSpec(entity: BundleEntity): TaskSpec | WorkflowSpec | LaunchPlanSpec {
    const spec = entity.kind === "task" ? currentTaskSpec(entity) : entity.spec;
    const source = (spec as { source?: string }).source;
    if (source === undefined) return spec;
    const m = /^(.*):(\d+)$/.exec(source);
    const file = entity.site?.file ?? (m ? resolve(process.cwd(), m[1]!) : undefined);
    const line = entity.site?.line ?? (m ? Number(m[2]) : undefined);
    const { source: _source, ...rest } = spec as TaskSpec;
    if (file && cellExecutionCount(file) !== undefined && !existsSync(file)) return rest;
    if (file && line !== undefined && existsSync(file)) return { ...rest, source: `${this.relativePath(file)}:${line}` };
    return spec;
  }

  private relativePath(file: string): string {
    return relative(this.root, file).split(sep).join("/");
  }

  private label(file: string): string {
    return this.sources.label?.(file) ?? this.relativePath(file);
  }

  private where(decl: Declaration): string {
    return `${this.label(decl.file)}, line ${lineOf(decl)}`;
  }

  /** The names from a requested entity to `sym`, for messages. */
  private pathTo(sym: Sym, name: string): string[] {
    const path = [name];
    const seen = new Set<string>([sym.key]);
    for (let p = this.parent.get(sym.key); p && !seen.has(p.sym.key); p = this.parent.get(p.sym.key)) {
      seen.add(p.sym.key);
      path.unshift(p.name);
    }
    return path;
  }

  private via(sym: Sym, name: string): string {
    const path = this.pathTo(sym, name);
    return path.length > 1 ? ` (the bundle needs it through ${path.join(" → ")})` : "";
  }
}

// ---- entities ----

interface CollectedEntities {
  tasks: Map<string, BundleEntity>;
  workflows: Map<string, BundleEntity>;
  launchPlans: Map<string, BundleEntity>;
}

function isEntity(x: unknown): x is BundleEntity {
  if ((typeof x !== "object" && typeof x !== "function") || x === null) return false;
  const e = x as Partial<BundleEntity>;
  return (e.kind === "task" || e.kind === "workflow" || e.kind === "launch_plan") && typeof e.name === "string";
}

/** The requested entities and everything their registries hold; two different objects under one name are an error. */
function collectEntities(roots: BundleEntity[]): CollectedEntities {
  const out: CollectedEntities = { tasks: new Map(), workflows: new Map(), launchPlans: new Map() };
  const add = (e: BundleEntity): void => {
    const map = e.kind === "task" ? out.tasks : e.kind === "workflow" ? out.workflows : out.launchPlans;
    const existing = map.get(e.name);
    if (existing === e) return;
    if (existing) {
      throw new BundleError(
        BUNDLE_ERRORS.STALE_ENTITY,
        `two different ${kindLabel(e.kind)}s are named ${e.name} among the entities to bundle (one is an older definition); run the cells that use it again`,
        { declaration: e.name },
      );
    }
    map.set(e.name, e);
    for (const registry of [e.entities?.tasks, e.entities?.workflows, e.entities?.launchPlans]) {
      for (const inner of registry?.values() ?? []) if (isEntity(inner)) add(inner);
    }
  };
  for (const r of roots) add(r);
  return out;
}

const ENTITY_FUNCTIONS: Record<string, EntityKind> = { task: "task", notebookTask: "task", workflow: "workflow", launchPlan: "launch_plan" };

/** For `const x = task({ name: "clean", ... }, ...)`: the kind and the literal name (undefined when computed). */
function definedEntity(node: TS.Node): { kind: EntityKind; name: string | undefined } | undefined {
  const t = typescript();
  if (!t.isVariableDeclaration(node) || !node.initializer) return undefined;
  let e: TS.Expression = node.initializer;
  while (t.isParenthesizedExpression(e) || t.isAsExpression(e) || t.isSatisfiesExpression(e) || t.isNonNullExpression(e)) e = e.expression;
  if (!t.isCallExpression(e)) return undefined;
  const callee = t.isIdentifier(e.expression) ? e.expression.text : t.isPropertyAccessExpression(e.expression) ? e.expression.name.text : "";
  const kind = ENTITY_FUNCTIONS[callee];
  if (!kind) return undefined;
  const options = e.arguments[0];
  if (!options || !t.isObjectLiteralExpression(options)) return { kind, name: undefined };
  for (const p of options.properties) {
    if (t.isPropertyAssignment(p) && t.isIdentifier(p.name) && p.name.text === "name") {
      const v = p.initializer;
      return { kind, name: t.isStringLiteral(v) || t.isNoSubstitutionTemplateLiteral(v) ? v.text : undefined };
    }
  }
  return { kind, name: undefined };
}

/**
 * A task's spec with its code-closure cache version as of now. Specs are compiled
 * once, on first use; if a helper the task reads was redefined since (a later cell),
 * the memoized version describes code the bundle no longer ships, and pinning it on
 * the loaded task would turn a change into a wrong cache hit. The bundle then
 * records the version of the code it ships: a miss where a hit was possible, never
 * the reverse.
 */
function currentTaskSpec(entity: BundleEntity): TaskSpec {
  const spec = entity.spec as TaskSpec;
  const fn = (entity as { fn?: unknown }).fn;
  if (!spec.cache.enabled || spec.cache.versionSource !== "code-closure" || typeof fn !== "function") return spec;
  const now = codeClosure(fn as (...args: never[]) => unknown, entity.site);
  if (now.source !== "code-closure" || now.hash === spec.cache.version) return spec;
  return { ...spec, cache: { ...spec.cache, version: now.hash } };
}

/** The file an entity was defined in: a task's call site, or the file of a spec's `source` (`path:line`). */
function siteFileOf(entity: BundleEntity): string | undefined {
  if (entity.site?.file) return entity.site.file;
  const source = (entity.spec as { source?: string } | undefined)?.source;
  const m = source ? /^(.*):\d+$/.exec(source) : null;
  return m ? resolve(process.cwd(), m[1]!) : undefined;
}

/** With no sources, the one file the entities' tasks were defined in. */
function inferEntry(roots: BundleRoots): string | undefined {
  const values = Array.isArray(roots) ? (roots as unknown[]) : Object.values(roots);
  const files = new Set<string>();
  for (const v of values) {
    if (!isEntity(v)) continue;
    const f = siteFileOf(v);
    if (f) files.add(f);
    else {
      for (const task of v.entities?.tasks.values() ?? []) {
        const tf = isEntity(task) ? siteFileOf(task) : undefined;
        if (tf) files.add(tf);
      }
    }
  }
  return files.size === 1 ? [...files][0] : undefined;
}

// ---- small helpers ----

function createBundle(code: string, manifest: BundleManifest, sources: ShippedDeclaration[]): Bundle {
  const bytes = encodeBundle(code, manifest);
  const hash = `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
  return {
    code,
    manifest,
    hash,
    bytes: () => bytes.slice(),
    sources,
    toString: () => describeBundle(hash, bytes.length, manifest, sources),
  };
}

/** The canonical bytes of a bundle: sorted-key JSON of `{ code, manifest }`, UTF-8. */
export function encodeBundle(code: string, manifest: BundleManifest): Uint8Array {
  return new TextEncoder().encode(stableStringify({ code, manifest }));
}

function describeBundle(hash: string, size: number, manifest: BundleManifest, sources: ShippedDeclaration[]): string {
  const count = (n: number, what: string) => `${n} ${what}${n === 1 ? "" : "s"}`;
  const { tasks, workflows, launchPlans } = manifest.entities;
  const width = Math.max(0, ...sources.map((s) => s.name.length));
  const lines = [
    `bundle ${hash} (${(size / 1024).toFixed(1)} kB)`,
    `  exports: ${Object.entries(manifest.exports).map(([k, v]) => `${k} (${kindLabel(v.kind)})`).join(", ")}`,
    `  entities: ${[
      tasks.length ? `${count(tasks.length, "task")} (${tasks.join(", ")})` : "",
      workflows.length ? `${count(workflows.length, "workflow")} (${workflows.join(", ")})` : "",
      launchPlans.length ? `${count(launchPlans.length, "launch plan")} (${launchPlans.join(", ")})` : "",
    ]
      .filter(Boolean)
      .join(", ")}`,
    `  declarations:`,
    ...sources.map((s) => `    ${s.name.padEnd(width)}  ${s.label}:${s.line}${s.declared !== s.name ? ` (declared as ${s.declared})` : ""}`),
    `  packages: ${Object.entries(manifest.packages).map(([k, v]) => `${k}@${v}`).join(", ") || "none"}`,
    ...(manifest.assets
      ? [`  assets: ${Object.entries(manifest.assets).map(([k, v]) => `${k} (${(new TextEncoder().encode(v).length / 1024).toFixed(1)} kB)`).join(", ")}`]
      : []),
  ];
  return lines.join("\n");
}

function kindLabel(kind: EntityKind): string {
  return kind === "launch_plan" ? "launch plan" : kind;
}

function lineOf(decl: Declaration): number {
  return decl.sourceFile.getLineAndCharacterOfPosition(decl.node.getStart(decl.sourceFile)).line + 1;
}

function applyEdits(text: string, start: number, end: number, edits: { start: number; end: number; text: string }[]): string {
  let out = "";
  let at = start;
  for (const e of [...edits].filter((x) => x.start >= start && x.end <= end).sort((a, b) => a.start - b.start)) {
    if (e.start < at) continue;
    out += text.slice(at, e.start) + e.text;
    at = e.end;
  }
  return out + text.slice(at, end);
}

function sortByName<T extends { name: string }>(list: T[]): T[] {
  return list.sort((a, b) => cmp(a.name, b.name));
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function isIdentifierName(s: string): boolean {
  return /^[A-Za-z_$][\w$]*$/.test(s);
}

function describeValue(x: unknown): string {
  if (x === null) return "null";
  if (typeof x === "function") return `a function${x.name ? ` (${x.name})` : ""}`;
  if (typeof x === "object") return `an object (${Object.keys(x).slice(0, 5).join(", ") || "no keys"})`;
  return `${typeof x} ${JSON.stringify(x)}`;
}
