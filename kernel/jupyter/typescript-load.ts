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
 * Given a cache directory, the loader keeps the edited source there, as ASCII (its
 * few other characters, all in comments, escaped) and sealed with its sha256. Later
 * kernels read it as latin1: no UTF-8 decoding and no edits (about 0.2 s of the
 * first cell), and V8 keeps it as a one-byte string, half the memory. A cached
 * source that is missing, stale or whose seal does not match costs time only: the
 * fork is edited again and the file written again.
 *
 * (V8's code cache of the fork was tried too and left out: functions deserialized
 * from it skip the baseline compile that `--always-sparkplug` gives a function at
 * its first compile, and under the compiler's tiering budget (tiering.ts) they then
 * stay in the interpreter; a 20-line function cell went from 9.3 to 13 ms.)
 */
import { createHash } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import Module, { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type * as TS from "@tslab/typescript-for-tslab";
import { writeCacheFile } from "./cache-file.js";

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

/**
 * The fork as `from` resolves it, edited, and put in the module cache so that tslab's
 * own modules get the same copy. If it is loaded already, that copy is returned.
 * `cacheDir`: where the edited source is kept.
 */
export function loadTypeScript(from: string, cacheDir?: string): typeof TS {
  const require = createRequire(from);
  const path = require.resolve("@tslab/typescript-for-tslab");
  const cached = require.cache[path];
  if (cached) return cached.exports as typeof TS;
  const file = cacheDir === undefined ? undefined : cacheFile(path, cacheDir);
  let source = file && readSealed(file);
  if (source === undefined) {
    source = escapeNonAscii(editTypeScript(readFileSync(path, "utf8")));
    if (file) writeCacheFile(file, `${source}${SEAL}${digest(source)}\n`, "latin1");
  }
  const module = new Loader(path);
  module.filename = path;
  module.paths = Loader._nodeModulePaths(dirname(path));
  module._compile(source, path);
  module.loaded = true;
  require.cache[path] = module as unknown as NodeJS.Module;
  return module.exports as typeof TS;
}

/** The cached source of the fork at `path`, named after the fork's file and the edits. */
function cacheFile(path: string, cacheDir: string): string | undefined {
  try {
    const { size, mtimeMs } = statSync(path);
    return join(cacheDir, `typescript-${digest(JSON.stringify([path, size, mtimeMs, TYPESCRIPT_EDITS])).slice(0, 24)}.js`);
  } catch {
    return undefined;
  }
}

/** The last line of a cached source: its sha256 follows. */
const SEAL = "\n//# petrel-sha256=";

/** A cached source's text, or undefined if it is missing or its seal does not match it. */
function readSealed(file: string): string | undefined {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch {
    return undefined;
  }
  const at = bytes.lastIndexOf(SEAL);
  if (at < 0) return undefined;
  const body = bytes.subarray(0, at);
  const sealed = bytes.subarray(at + SEAL.length).toString("latin1").trim();
  return sealed === digest(body) ? body.toString("latin1") : undefined;
}

/**
 * `\uXXXX` for every non-ASCII UTF-16 unit: the same program wherever they stand in
 * strings, regular expressions, identifiers or comments (only a template's raw text
 * would differ; the fork's four are all in comments).
 */
function escapeNonAscii(text: string): string {
  return text.replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

function digest(data: string | Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}
