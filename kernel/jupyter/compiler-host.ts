/**
 * Loads tslab's converter and executor with the compiler settings a Node 20 notebook
 * needs. tslab hard-codes its compiler options (ES2022 lib, Node10 resolution, types
 * only from the notebook's folder or tslab's own), so the kernel hands tslab a view
 * of its TypeScript fork in which:
 *
 * - `createWatchCompilerHost` gets the lib for this Node version, `bundler` module
 *   resolution (package "exports", as `petrel` uses), type roots that include the
 *   kernel's `@types/node` and globals, inline source maps, and a file system with the
 *   overlay of resolution.ts;
 * - `transpileModule` (tslab's second pass, ES module to CommonJS) also yields a
 *   source map, so stack frames of cell code map back to the cell's own lines.
 *
 * Nothing in tslab is modified on disk; the view is installed in the require cache
 * before tslab's modules load, and is the only TypeScript they ever see.
 */
import { createRequire } from "node:module";
import { dirname } from "node:path";
import type * as TS from "@tslab/typescript-for-tslab";
import type { createConverter as CreateConverter, isCompleteCode as IsCompleteCode } from "tslab/dist/converter.js";
import type { createExecutor as CreateExecutor } from "tslab/dist/executor.js";
import type { printQuickInfo as PrintQuickInfo } from "tslab/dist/inspect.js";
import type { Overlay } from "./resolution.js";
import { TSLAB_ENTRY } from "./versions.js";

/** One ES-module-to-CommonJS pass of tslab, with its source map. */
export interface Transpiled {
  /** The ES module tslab emitted (ends with its own inline source map to the TypeScript source). */
  input: string;
  /** The source map from the CommonJS output to `input`. */
  sourceMap: string;
}

/** What the kernel uses of tslab. */
export interface Tslab {
  createConverter: typeof CreateConverter;
  createExecutor: typeof CreateExecutor;
  isCompleteCode: typeof IsCompleteCode;
  printQuickInfo: typeof PrintQuickInfo;
  /** tslab's TypeScript fork. */
  ts: typeof TS;
}

/** How the kernel's compiler view is set up. */
export interface CompilerSettings {
  overlay: Overlay;
  /** Called after every ES-module-to-CommonJS pass. */
  onTranspile: (result: Transpiled) => void;
}

/** tslab emits this file name for its CommonJS pass. */
const TSLAB_TRANSPILE_FILE = "custom.js";
const SOURCE_MAP_COMMENT = /^\/\/# sourceMappingURL=.*$/gm;

let settings: CompilerSettings | undefined;
let loaded: Tslab | undefined;

/** Loads tslab through the kernel's compiler view. Loading twice returns the same modules; settings are replaced. */
export function loadTslab(next: CompilerSettings): Tslab {
  settings = next;
  if (loaded) return loaded;
  const tslabRequire = createRequire(TSLAB_ENTRY);
  const id = tslabRequire.resolve("@tslab/typescript-for-tslab");
  const real = tslabRequire(id) as typeof TS;
  const view = createView(real);
  const cached = tslabRequire.cache[id];
  if (!cached) throw new Error("tslab's TypeScript did not load as a CommonJS module");
  cached.exports = view;
  const dist = dirname(TSLAB_ENTRY);
  const converter = tslabRequire(`${dist}/converter.js`) as { createConverter: typeof CreateConverter; isCompleteCode: typeof IsCompleteCode };
  const executor = tslabRequire(`${dist}/executor.js`) as { createExecutor: typeof CreateExecutor };
  const inspect = tslabRequire(`${dist}/inspect.js`) as { printQuickInfo: typeof PrintQuickInfo };
  loaded = {
    createConverter: converter.createConverter,
    createExecutor: executor.createExecutor,
    isCompleteCode: converter.isCompleteCode,
    printQuickInfo: inspect.printQuickInfo,
    ts: real,
  };
  return loaded;
}

/** The TypeScript library files for this Node version. */
export function nodeLib(nodeMajor = Number(process.versions.node.split(".")[0])): string[] {
  if (nodeMajor >= 20) return ["lib.es2023.d.ts"];
  if (nodeMajor >= 18) return ["lib.es2022.d.ts"];
  return ["lib.es2021.d.ts"];
}

function createView(ts: typeof TS): typeof TS {
  const createWatchCompilerHost = ((rootFiles: string[], options: TS.CompilerOptions, system: TS.System, ...rest: unknown[]) => {
    const s = current();
    const sys = overlaySystem(system, ts.sys, s.overlay);
    const cwd = system.getCurrentDirectory();
    const compilerOptions: TS.CompilerOptions = {
      ...options,
      lib: nodeLib(),
      moduleResolution: ts.ModuleResolutionKind.Bundler,
      typeRoots: ts.getDefaultTypeRoots(cwd, { directoryExists: (p: string) => sys.directoryExists(p) }),
      inlineSourceMap: true,
    };
    return (ts.createWatchCompilerHost as (...args: unknown[]) => unknown)(rootFiles, compilerOptions, sys, ...rest);
  }) as typeof ts.createWatchCompilerHost;

  const transpileModule = (input: string, options: TS.TranspileOptions): TS.TranspileOutput => {
    if (options.fileName !== TSLAB_TRANSPILE_FILE) return ts.transpileModule(input, options);
    const out = ts.transpileModule(input, { ...options, compilerOptions: { ...options.compilerOptions, sourceMap: true } });
    if (out.sourceMapText) current().onTranspile({ input, sourceMap: out.sourceMapText });
    return { ...out, outputText: out.outputText.replace(SOURCE_MAP_COMMENT, "") };
  };

  // The fork's exports are non-configurable getters, so wrap rather than assign.
  return new Proxy(ts, {
    get(target, key, receiver) {
      if (key === "createWatchCompilerHost") return createWatchCompilerHost;
      if (key === "transpileModule") return transpileModule;
      return Reflect.get(target, key, receiver) as unknown;
    },
  });
}

function current(): CompilerSettings {
  if (!settings) throw new Error("loadTslab() must run before tslab compiles anything");
  return settings;
}

const NO_WATCHER: TS.FileWatcher = { close: () => undefined };

/** tslab's file system plus the overlay: virtual paths read from the real files behind them. */
function overlaySystem(base: TS.System, real: TS.System, overlay: Overlay): TS.System {
  const sys = Object.create(base) as TS.System;
  sys.fileExists = (p) => {
    if (overlay.content(p) !== undefined) return true;
    const r = overlay.real(p);
    return r !== undefined ? real.fileExists(r) : base.fileExists(p);
  };
  sys.readFile = (p, encoding) => {
    const c = overlay.content(p);
    if (c !== undefined) return c;
    const r = overlay.real(p);
    return r !== undefined ? real.readFile(r, encoding) : base.readFile(p, encoding);
  };
  sys.directoryExists = (p) => {
    if (overlay.isDirectory(p)) return true;
    const r = overlay.real(p);
    return r !== undefined ? real.directoryExists(r) : base.directoryExists(p);
  };
  sys.getDirectories = (p) => {
    const r = overlay.real(p);
    if (r !== undefined) return real.getDirectories(r);
    const extra = overlay.subdirectories(p);
    const own = base.directoryExists(p) ? base.getDirectories(p) : [];
    return extra.length === 0 ? own : [...new Set([...own, ...extra])];
  };
  // Virtual paths stay virtual: the checker must not "see through" them to other copies.
  sys.realpath = (p) => (overlay.real(p) !== undefined || overlay.content(p) !== undefined ? p : (base.realpath?.(p) ?? p));
  sys.watchFile = (p, cb, interval, options) =>
    overlay.real(p) !== undefined || overlay.content(p) !== undefined ? NO_WATCHER : (base.watchFile?.(p, cb, interval, options) ?? NO_WATCHER);
  sys.watchDirectory = (p, cb, recursive, options) =>
    overlay.real(p) !== undefined || overlay.isDirectory(p) ? NO_WATCHER : (base.watchDirectory?.(p, cb, recursive, options) ?? NO_WATCHER);
  return sys;
}
