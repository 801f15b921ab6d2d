/**
 * Loads tslab's TypeScript fork with two edits that let the garbage of a cell's
 * compile die young, and a third that lets the kernel parse library files without
 * their JSDoc (compiler-host.ts).
 *
 * The kernel builds a program, a type checker and an emit per cell. All of it is
 * garbage once the cell has compiled, but V8's young-generation collector (the
 * scavenger) treats every pointer from the old generation as live, dead or not.
 * Two objects that TypeScript makes per checker and per emit, `noIterationTypes`
 * and the transformation context, are object literals with getters: V8 keeps their
 * accessors in the old generation, and the getters' closures hold the enclosing
 * function's whole scope (every type, symbol and cache of that checker). So every
 * checker survived the scavenges until the next full collection: about 260 KB per
 * cell promoted, and scavenges of about 20 ms every 30 cells.
 *
 * The edits move those accessors to objects made once (behaviour is the same); the
 * kernelspec also turns off V8's allocation-site pretenuring, which put objects of
 * the checker straight into the old generation. In process, 300 trivial and 300
 * function cells spent 110–140 ms in scavenges with both, against 660–760 ms with
 * neither, 580–610 ms with the edits alone and 840 ms with the flag alone; each cell
 * left 10–30 KB in the old generation instead of 260 KB.
 *
 * An edit whose text is not found (another TypeScript) is skipped: cells compile
 * the same, only with more garbage or more to parse.
 *
 * Given a cache directory, the loader keeps two things there so that later kernels
 * skip most of loading the fork's 9 MB (about 0.3 s of the first cell):
 *
 * - the edited source, as ASCII (its few other characters, all in comments, escaped)
 *   and sealed with its sha256: read as latin1 it needs no UTF-8 decoding and V8
 *   keeps it as a one-byte string, half the memory;
 * - V8's code cache of it, made once the first cell has compiled, so that it holds
 *   the bytecode of the functions a compile runs (`saveTypeScriptCodeCache()`).
 *
 * Either one missing, corrupt, stale or rejected by V8 costs time only: the fork is
 * edited or compiled as without a cache, and the file is written again.
 */
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import Module, { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { Script } from "node:vm";
import type * as TS from "@tslab/typescript-for-tslab";

/** One edit: its `[from, to]` replacements are made together, or not at all. */
type Edit = readonly (readonly [from: string, to: string])[];

const NO_ITERATION_TYPES = `    var noIterationTypes = {
      get yieldType() {
        return Debug.fail("Not supported");
      },
      get returnType() {
        return Debug.fail("Not supported");
      },
      get nextType() {
        return Debug.fail("Not supported");
      }
    };`;

const HOOK_ACCESSORS = `      get onSubstituteNode() {
        return onSubstituteNode;
      },
      set onSubstituteNode(value) {
        Debug.assert(state < 1 /* Initialized */, "Cannot modify transformation hooks after initialization has completed.");
        Debug.assert(value !== void 0, "Value must not be 'undefined'");
        onSubstituteNode = value;
      },
      get onEmitNode() {
        return onEmitNode;
      },
      set onEmitNode(value) {
        Debug.assert(state < 1 /* Initialized */, "Cannot modify transformation hooks after initialization has completed.");
        Debug.assert(value !== void 0, "Value must not be 'undefined'");
        onEmitNode = value;
      },`;

/** The edits (test/jupyter/compile-garbage.test.ts fails when they stop applying). */
const TYPESCRIPT_EDITS: readonly Edit[] = [
  // One noIterationTypes, made once for all checkers.
  [
    [NO_ITERATION_TYPES, "    var noIterationTypes = petrelNoIterationTypes;"],
    ["  function createTypeChecker(host) {", `${NO_ITERATION_TYPES.replace("    var noIterationTypes", "  var petrelNoIterationTypes").replace(/\n {4}/g, "\n  ")}\n  function createTypeChecker(host) {`],
  ],
  // The transformation hooks as accessors of a prototype made once, calling functions of the context.
  [
    [
        HOOK_ACCESSORS,
        `      __proto__: petrelTransformationHooks,
      petrelHooks: {
        getOnSubstituteNode: () => onSubstituteNode,
        setOnSubstituteNode(value) {
          Debug.assert(state < 1 /* Initialized */, "Cannot modify transformation hooks after initialization has completed.");
          Debug.assert(value !== void 0, "Value must not be 'undefined'");
          onSubstituteNode = value;
        },
        getOnEmitNode: () => onEmitNode,
        setOnEmitNode(value) {
          Debug.assert(state < 1 /* Initialized */, "Cannot modify transformation hooks after initialization has completed.");
          Debug.assert(value !== void 0, "Value must not be 'undefined'");
          onEmitNode = value;
        }
      },`,
      ],
      [
        "  function transformNodes(",
        `  var petrelTransformationHooks = {
    get onSubstituteNode() { return this.petrelHooks.getOnSubstituteNode(); },
    set onSubstituteNode(value) { this.petrelHooks.setOnSubstituteNode(value); },
    get onEmitNode() { return this.petrelHooks.getOnEmitNode(); },
    set onEmitNode(value) { this.petrelHooks.setOnEmitNode(value); }
  };
  function transformNodes(`,
    ],
  ],
  // A switch that leaves JSDoc comments unparsed (`ts.petrelParsing.skipJSDoc`; TypeScript 5.3 has it as `jsDocParsingMode`).
  [
    ["const jsDoc = mapDefined(getJSDocCommentRanges(node, sourceText),", "const jsDoc = petrelParsing.skipJSDoc ? [] : mapDefined(getJSDocCommentRanges(node, sourceText),"],
    ["  var require_typescript = __commonJS({", "  var petrelParsing = { skipJSDoc: false };\n  var require_typescript = __commonJS({"],
    ["      module2.exports = ts_exports3;", "      ts_exports3.petrelParsing = petrelParsing;\n      module2.exports = ts_exports3;"],
  ],
];

/** Makes each edit whose every text is found exactly once (two scans of the 9 MB source per text). */
function editTypeScript(source: string): string {
  for (const edit of TYPESCRIPT_EDITS) {
    const found = edit.map(([from, to]) => ({ at: source.indexOf(from), from, to }));
    if (found.some(({ at, from }) => at < 0 || source.indexOf(from, at + 1) >= 0)) continue;
    // From the last position back, so that earlier positions stay valid.
    for (const { at, from, to } of found.sort((a, b) => b.at - a.at)) source = source.slice(0, at) + to + source.slice(at + from.length);
  }
  return source;
}

interface LoadableModule {
  filename: string;
  paths: string[];
  loaded: boolean;
  exports: unknown;
  _compile(source: string, filename: string): void;
}
const Loader = Module as unknown as { new (id: string): LoadableModule; _nodeModulePaths(dir: string): string[] };

/** Writes the code cache this process made, if it made one (it had none, or V8 rejected it). */
let pendingCodeCache: (() => void) | undefined;

/**
 * The fork as `from` resolves it, edited, and put in the module cache so that tslab's
 * own modules get the same copy. If it is loaded already, that copy is returned.
 * `cacheDir`: where the edited source and V8's code cache of it are kept.
 */
export function loadTypeScript(from: string, cacheDir?: string): typeof TS {
  const require = createRequire(from);
  const path = require.resolve("@tslab/typescript-for-tslab");
  const cached = require.cache[path];
  if (cached) return cached.exports as typeof TS;
  const files = cacheDir === undefined ? undefined : cacheFiles(path, cacheDir);
  let source = files && readSealed(files.source);
  if (source === undefined) {
    source = escapeNonAscii(editTypeScript(readFileSync(path, "utf8")));
    if (files) writeAtomically(files.source, seal(source));
  }
  const cachedData = files && readOptional(files.code);
  const script = new Script(Module.wrap(source), { filename: path, ...(cachedData ? { cachedData } : {}) });
  if (files && (!cachedData || script.cachedDataRejected)) pendingCodeCache = () => writeAtomically(files.code, script.createCachedData());
  const module = new Loader(path);
  module.filename = path;
  module.paths = Loader._nodeModulePaths(dirname(path));
  const wrapper = script.runInThisContext() as (exports: unknown, require: NodeJS.Require, module: LoadableModule, filename: string, dirname: string) => void;
  wrapper.call(module.exports, module.exports, createRequire(path), module, path, dirname(path));
  module.loaded = true;
  require.cache[path] = module as unknown as NodeJS.Module;
  return module.exports as typeof TS;
}

/**
 * Writes V8's code cache of the fork if this process had to compile it without one.
 * Called once a cell has compiled, outside the compiler's tiering budget: V8 accepts a
 * code cache only under the flags it was made with, and those are the ones the fork
 * loads under.
 */
export function saveTypeScriptCodeCache(): void {
  const save = pendingCodeCache;
  pendingCodeCache = undefined;
  save?.();
}

/** Cache files for the fork at `path`: the source by the fork and the edits, the code cache also by Node and its flags. */
function cacheFiles(path: string, cacheDir: string): { source: string; code: string } | undefined {
  try {
    const { size, mtimeMs } = statSync(path);
    const key = digest(JSON.stringify([path, size, mtimeMs, TYPESCRIPT_EDITS])).slice(0, 24);
    const flags = digest(JSON.stringify([key, process.version, process.arch, process.execArgv])).slice(0, 24);
    return { source: join(cacheDir, `typescript-${key}.js`), code: join(cacheDir, `typescript-${flags}.v8cache`) };
  } catch {
    return undefined;
  }
}

const SEAL = "\n//# petrel-sha256=";

/** The text followed by a last line with its sha256. */
function seal(text: string): string {
  return `${text}${SEAL}${digest(text)}\n`;
}

/** A sealed file's text, or undefined if it is missing or its seal does not match. */
function readSealed(file: string): string | undefined {
  const bytes = readOptional(file);
  if (!bytes) return undefined;
  const at = bytes.lastIndexOf(SEAL);
  if (at < 0) return undefined;
  const body = bytes.subarray(0, at);
  const sealed = bytes.subarray(at + SEAL.length).toString("latin1").trim();
  return sealed === createHash("sha256").update(body).digest("hex") ? body.toString("latin1") : undefined;
}

/** `\uXXXX` for every non-ASCII UTF-16 unit: the same program wherever they are in strings, identifiers or comments. */
function escapeNonAscii(text: string): string {
  return text.replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

function digest(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

function readOptional(file: string): Buffer | undefined {
  try {
    return readFileSync(file);
  } catch {
    return undefined;
  }
}

/** Best effort: a kernel without a writable cache works the same, only starts slower. */
function writeAtomically(file: string, data: string | Uint8Array): void {
  try {
    mkdirSync(dirname(file), { recursive: true });
    const temporary = `${file}.${process.pid}.tmp`;
    writeFileSync(temporary, data, typeof data === "string" ? "latin1" : undefined);
    renameSync(temporary, file);
  } catch {
    // Not cached.
  }
}
