/**
 * Loads tslab's TypeScript fork with two edits that let the garbage of a cell's
 * compile die young.
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
 * the same, only with more garbage.
 */
import { readFileSync } from "node:fs";
import Module, { createRequire } from "node:module";
import { dirname } from "node:path";
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
 */
export function loadTypeScript(from: string): typeof TS {
  const require = createRequire(from);
  const path = require.resolve("@tslab/typescript-for-tslab");
  const cached = require.cache[path];
  if (cached) return cached.exports as typeof TS;
  const source = editTypeScript(readFileSync(path, "utf8"));
  const module = new Loader(path);
  module.filename = path;
  module.paths = Loader._nodeModulePaths(dirname(path));
  module._compile(source, path);
  module.loaded = true;
  require.cache[path] = module as unknown as NodeJS.Module;
  return module.exports as typeof TS;
}
