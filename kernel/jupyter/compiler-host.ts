/**
 * Loads tslab (its executor, its completeness check, its TypeScript fork) and gives
 * the cell compiler a compiler host built for one long-lived notebook:
 *
 * - parsed files are kept across cells: library files (TypeScript's lib, anything
 *   under node_modules, Petrel's own declarations) are parsed once per session, the
 *   notebook's own files again only when their modification time changes;
 * - file-system probes under node_modules and module resolutions are cached, so a
 *   cell's program is built without touching the disk; `forgetResolutions()` drops
 *   both when a cell imports something that was not there before;
 * - virtual files (cells, their declarations, `@module` cells) live in memory;
 * - the overlay of resolution.ts applies: `petrel` and the kernel's own packages
 *   resolve from any folder;
 * - library files are parsed without their JSDoc comments, which only hovers show
 *   (a third of parsing them, about 0.25 s of a kernel's first cell), until
 *   `loadLibraryDocs()` parses them again with it.
 */
import { createHash } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, sep } from "node:path";
import type * as TS from "@tslab/typescript-for-tslab";
import type { isCompleteCode as IsCompleteCode } from "tslab/dist/converter.js";
import type { createExecutor as CreateExecutor } from "tslab/dist/executor.js";
import type { printQuickInfo as PrintQuickInfo } from "tslab/dist/inspect.js";
import type { Overlay } from "./resolution.js";
import { writeCacheFile } from "./cache-file.js";
import { loadTypeScript } from "./typescript-load.js";
import { PACKAGE_ROOT, TSLAB_ENTRY } from "./versions.js";

/** What the kernel uses of tslab. */
export interface Tslab {
  createExecutor: typeof CreateExecutor;
  isCompleteCode: typeof IsCompleteCode;
  printQuickInfo: typeof PrintQuickInfo;
  /** tslab's TypeScript fork (it exposes the compiler's internals that completion needs). */
  ts: typeof TS;
}

let loaded: Tslab | undefined;

/** Loads tslab's modules once; `cacheDir` keeps what makes loading TypeScript faster the next time. */
export function loadTslab(cacheDir?: string): Tslab {
  if (loaded) return loaded;
  // First, so that tslab's modules get the same (edited) copy.
  const ts = loadTypeScript(TSLAB_ENTRY, cacheDir);
  const tslabRequire = createRequire(TSLAB_ENTRY);
  const dist = dirname(TSLAB_ENTRY);
  const converter = tslabRequire(`${dist}/converter.js`) as { isCompleteCode: typeof IsCompleteCode };
  const executor = tslabRequire(`${dist}/executor.js`) as { createExecutor: typeof CreateExecutor };
  const inspect = tslabRequire(`${dist}/inspect.js`) as { printQuickInfo: typeof PrintQuickInfo };
  loaded = {
    createExecutor: executor.createExecutor,
    isCompleteCode: converter.isCompleteCode,
    printQuickInfo: inspect.printQuickInfo,
    ts,
  };
  return loaded;
}

/** The TypeScript library files for this Node version. */
export function nodeLib(nodeMajor = Number(process.versions.node.split(".")[0])): string[] {
  if (nodeMajor >= 20) return ["lib.es2023.d.ts"];
  if (nodeMajor >= 18) return ["lib.es2022.d.ts"];
  return ["lib.es2021.d.ts"];
}

/** A compiler host that keeps what it parsed and resolved across cells. */
export interface CellHost extends TS.CompilerHost {
  /**
   * Sets (or, with undefined, removes) an in-memory file. `parent` gives the file whose
   * top-level declarations the file sees as if they enclosed it.
   */
  setVirtual(path: string, text: string | undefined, parent?: () => TS.SourceFile | undefined): void;
  /** Forgets cached file-system probes and module resolutions (after an import failed to resolve). */
  forgetResolutions(): void;
  /** From now on parses library files with their JSDoc (documentation); false if they already were. */
  loadLibraryDocs(): boolean;
}

/** The switch of typescript-load.ts's edit; absent from a TypeScript it could not edit (which parses JSDoc always). */
interface PetrelParsing {
  skipJSDoc: boolean;
}

interface Cached {
  file: TS.SourceFile;
  /** A notebook file's real path and modification time; undefined for files that do not change. */
  real?: string;
  mtimeMs?: number;
}

interface Virtual {
  text: string;
  parent?: () => TS.SourceFile | undefined;
  file?: TS.SourceFile;
}

/** A host for `options` in `cwd`, seen through `overlay`. */
export function createCellHost(ts: typeof TS, cwd: string, overlay: Overlay, options: TS.CompilerOptions): CellHost {
  const sys = ts.sys;
  const defaultLib = ts.getDefaultLibFilePath(options);
  const libDir = dirname(defaultLib);
  // Packages (the kernel's own included) do not change under a running kernel; the notebook's files may.
  const stable = (p: string) => p.includes(`${sep}node_modules${sep}`) || p.startsWith(libDir) || p.startsWith(`${PACKAGE_ROOT}${sep}dist${sep}`);
  const virtual = new Map<string, Virtual>();
  const parsed = new Map<string, Cached>();
  let probes = new Map<string, unknown>();
  const probe = <T>(kind: string, path: string, look: () => T): T => {
    if (!stable(path)) return look();
    const key = `${kind}\0${path}`;
    if (probes.has(key)) return probes.get(key) as T;
    const value = look();
    probes.set(key, value);
    return value;
  };
  const parsing = (ts as { petrelParsing?: PetrelParsing }).petrelParsing;
  let libraryDocs = parsing === undefined;
  /** Parses a file, without its JSDoc if it is a library's and docs are not loaded yet. */
  const parse = (path: string, text: string, languageVersion: TS.ScriptTarget | TS.CreateSourceFileOptions, setParents: boolean, library: boolean): TS.SourceFile => {
    if (libraryDocs || !library) return ts.createSourceFile(path, text, languageVersion, setParents);
    parsing!.skipJSDoc = true;
    try {
      return ts.createSourceFile(path, text, languageVersion, setParents);
    } finally {
      parsing!.skipJSDoc = false;
    }
  };
  const realOf = (p: string) => overlay.real(p);
  const readFile = (p: string): string | undefined => {
    const v = virtual.get(p);
    if (v) return v.text;
    const c = overlay.content(p);
    if (c !== undefined) return c;
    return sys.readFile(realOf(p) ?? p);
  };
  const canonical = (p: string) => p;
  let moduleCache = ts.createModuleResolutionCache(cwd, canonical, options);
  let typeCache = ts.createTypeReferenceDirectiveResolutionCache(cwd, canonical, options, moduleCache.getPackageJsonInfoCache());

  const host: CellHost = {
    getSourceFile(path, languageVersion) {
      const v = virtual.get(path);
      if (v) {
        if (!v.file) {
          // Cells get parent pointers from the start: completion walks them before anything is bound.
          v.file = parse(path, v.text, languageVersion, !path.endsWith(".d.ts"), stable(path));
          const parent = v.parent?.();
          // Names a cell does not declare resolve in the declarations of the cells before it.
          if (parent) (v.file as { parent?: TS.Node }).parent = parent;
        }
        return v.file;
      }
      const cached = parsed.get(path);
      if (cached && (cached.real === undefined || cached.mtimeMs === modified(cached.real))) return cached.file;
      const real = realOf(path) ?? path;
      const text = readFile(path);
      if (text === undefined) return undefined;
      const file = parse(path, text, languageVersion, false, stable(real));
      parsed.set(path, stable(real) ? { file } : { file, real, mtimeMs: modified(real) });
      return file;
    },
    getDefaultLibFileName: () => defaultLib,
    writeFile: () => {
      throw new Error("the cell compiler writes no files");
    },
    getCurrentDirectory: () => cwd,
    getCanonicalFileName: canonical,
    useCaseSensitiveFileNames: () => true,
    getNewLine: () => "\n",
    fileExists: (p) => virtual.has(p) || overlay.content(p) !== undefined || probe("f", p, () => sys.fileExists(realOf(p) ?? p)),
    readFile,
    directoryExists: (p) => overlay.isDirectory(p) || probe("d", p, () => sys.directoryExists(realOf(p) ?? p)),
    getDirectories: (p) =>
      probe("l", p, () => {
        const r = realOf(p);
        if (r !== undefined) return sys.getDirectories(r);
        const own = sys.directoryExists(p) ? sys.getDirectories(p) : [];
        const extra = overlay.subdirectories(p);
        return extra.length === 0 ? own : [...new Set([...own, ...extra])];
      }),
    // Virtual paths stay virtual: the checker must not "see through" them to other copies.
    realpath: (p) => (realOf(p) !== undefined || overlay.content(p) !== undefined || virtual.has(p) ? p : probe("r", p, () => sys.realpath?.(p) ?? p)),
    getModuleResolutionCache: () => moduleCache,
    resolveModuleNameLiterals: (literals, containing, redirected, o, file) =>
      literals.map((l) => ts.resolveModuleName(l.text, containing, o, host, moduleCache, redirected, ts.getModeForUsageLocation(file, l))),
    resolveTypeReferenceDirectiveReferences: (references, containing, redirected, o) =>
      references.map((r) =>
        ts.resolveTypeReferenceDirective(typeof r === "string" ? r : r.fileName.toLowerCase(), containing, o, host, redirected, typeCache),
      ),
    setVirtual(path, text, parent) {
      parsed.delete(path);
      const old = virtual.get(path);
      if (text === undefined) virtual.delete(path);
      else if (old?.text !== text || old.parent !== parent) virtual.set(path, { text, parent });
    },
    loadLibraryDocs() {
      if (libraryDocs) return false;
      libraryDocs = true;
      for (const [path, v] of virtual) if (stable(path)) v.file = undefined;
      for (const [path, cached] of parsed) if (cached.real === undefined) parsed.delete(path);
      return true;
    },
    forgetResolutions() {
      probes = new Map();
      moduleCache = ts.createModuleResolutionCache(cwd, canonical, options);
      typeCache = ts.createTypeReferenceDirectiveResolutionCache(cwd, canonical, options, moduleCache.getPackageJsonInfoCache());
    },
  };
  return host;
}

/** The libraries every cell's program starts from: one bundled file, the modules it needs, the options to use. */
export interface LibraryBundle {
  roots: string[];
  options: TS.CompilerOptions;
}

/** Which files a bundle folds together (in TypeScript's load order) and the module files it keeps. */
interface LibraryLayout {
  scripts: string[];
  modules: string[];
}

const REFERENCE_DIRECTIVE = /^\/\/\/\s*<reference\s+(?:path|lib|types|no-default-lib)=.*$/gm;

/**
 * Folds TypeScript's lib files and the global declaration files of the type packages
 * `typeNames` (@types/node and the kernel's globals, wherever `cwd` finds them) into
 * one in-memory file. A
 * checker merges the global declarations of every file anew for each program, and
 * the same interfaces (Array, Promise, ...) are declared across dozens of lib files;
 * in one file they are merged once, when it is bound. A cell's program then has about
 * 45 files instead of 160, and its checker starts in a third of the time, with the
 * same types: the files keep the order TypeScript loads them in, which decides the
 * order of merged overloads. Module files among them (`declare global` blocks,
 * packages they import) stay files of their own.
 *
 * Finding the files means parsing them all once; the layout is kept in `cacheDir`
 * (keyed by TypeScript's version and the packages' contents), so later kernels only
 * read and concatenate them.
 */
export function bundleLibraries(
  ts: typeof TS,
  host: CellHost,
  options: TS.CompilerOptions,
  cwd: string,
  typeNames: readonly string[],
  cacheDir?: string,
): LibraryBundle {
  const root = join(cwd, "__petrel_root__.ts");
  const typeDirs = typeNames.flatMap((name) => {
    const file = ts.resolveTypeReferenceDirective(name, root, options, host).resolvedTypeReferenceDirective?.resolvedFileName;
    const at = file?.lastIndexOf(`/@types/${name}/`) ?? -1;
    return at < 0 ? [] : [file!.slice(0, at + `/@types/${name}`.length)];
  });
  const key = createHash("sha256")
    .update(JSON.stringify([ts.version, options.lib, ...typeDirs.map((d) => [d, host.readFile(`${d}/package.json`) ?? host.readFile(`${d}/index.d.ts`) ?? ""])]))
    .digest("hex")
    .slice(0, 24);
  const cacheFile = cacheDir ? join(cacheDir, `libraries-${key}.json`) : undefined;
  let layout = cacheFile ? readLayout(cacheFile) : undefined;
  let texts = layout?.scripts.map((f) => host.readFile(f));
  if (!layout || !texts?.every((t) => t !== undefined)) {
    layout = naturalLayout(ts, host, options, root, typeDirs);
    texts = layout.scripts.map((f) => host.readFile(f));
    if (cacheFile) writeCacheFile(cacheFile, JSON.stringify(layout));
  }
  // Imports inside the bundled `declare module` blocks resolve from the first package's folder.
  const path = `${typeDirs[0] ?? cwd}/__petrel_library__.d.ts`;
  host.setVirtual(path, texts.map((t) => (t ?? "").replace(REFERENCE_DIRECTIVE, "")).join("\n"));
  // A package that references one of them again gets an empty file instead of a second copy.
  for (const f of layout.scripts) host.setVirtual(f, "");
  const bundled = new Set(typeDirs.map((d) => d.slice(d.lastIndexOf("/@types/") + "/@types/".length)));
  const { lib: _lib, ...rest } = options;
  const types = ts.getAutomaticTypeDirectiveNames(options, host).filter((name) => !bundled.has(name));
  return { roots: [path, ...layout.modules], options: { ...rest, noLib: true, types } };
}

/** The layout of the program TypeScript itself builds for an empty file. */
function naturalLayout(ts: typeof TS, host: CellHost, options: TS.CompilerOptions, root: string, typeDirs: readonly string[]): LibraryLayout {
  // TypeScript adds its lib only to a program with a root file.
  host.setVirtual(root, "export {};\n");
  const natural = ts.createProgram({ rootNames: [root], options, host });
  host.setVirtual(root, undefined);
  const inBundle = (f: TS.SourceFile) => natural.isSourceFileDefaultLibrary(f) || typeDirs.some((d) => f.fileName.startsWith(`${d}/`));
  const files = natural.getSourceFiles().filter(inBundle);
  if (!files.some((f) => natural.isSourceFileDefaultLibrary(f))) throw new Error("TypeScript's lib files did not load");
  return {
    scripts: files.filter((f) => !ts.isExternalModule(f)).map((f) => f.fileName),
    modules: files.filter((f) => ts.isExternalModule(f)).map((f) => f.fileName),
  };
}

function readLayout(file: string): LibraryLayout | undefined {
  try {
    const layout = JSON.parse(readFileSync(file, "utf8")) as Partial<LibraryLayout>;
    return Array.isArray(layout.scripts) && Array.isArray(layout.modules) ? (layout as LibraryLayout) : undefined;
  } catch {
    return undefined;
  }
}

function modified(path: string): number {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return -1;
  }
}
