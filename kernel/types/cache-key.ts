/**
 * The cache key: content-based and explainable. The same task and the same input
 * data give the same key on every machine, in the notebook and on the backend.
 */
import { canonicalTypeJSON, stableStringify, type LiteralMap, type TaskSpec, type TypedInterface } from "../model/index.js";
import { literalHash, sha256 } from "./hash.js";

/** Everything a cache key is made of, kept so a miss can be explained. */
export interface CacheKeyParts {
  task: string;
  version: string;
  interfaceHash: string;
  /** Content hash of every input that counts (ignored inputs left out). */
  inputHashes: Record<string, string>;
}

/** A key and its parts. */
export interface CacheKey {
  key: string;
  parts: CacheKeyParts;
}

const interfaceHashes = new WeakMap<TypedInterface, string>();

/** A hash of an interface's names and types (descriptions and defaults do not count); memoized per interface object. */
export function interfaceHash(iface: TypedInterface): string {
  let hash = interfaceHashes.get(iface);
  if (hash === undefined) {
    hash = computeInterfaceHash(iface);
    interfaceHashes.set(iface, hash);
  }
  return hash;
}

function computeInterfaceHash(iface: TypedInterface): string {
  const view = (vars: TypedInterface["inputs"]) =>
    Object.fromEntries(Object.entries(vars).map(([k, v]) => [k, JSON.parse(canonicalTypeJSON(v.type)) as unknown]));
  return sha256(stableStringify({ inputs: view(iface.inputs), outputs: view(iface.outputs) }));
}

/** The cache key of running `task` on `inputs`. */
export function computeCacheKey(task: TaskSpec, inputs: LiteralMap): CacheKey {
  const inputHashes: Record<string, string> = {};
  for (const name of Object.keys(inputs).sort()) {
    if (task.cache.ignoredInputs.includes(name)) continue;
    inputHashes[name] = literalHash(inputs[name]!);
  }
  const parts: CacheKeyParts = {
    task: task.name,
    version: task.cache.version,
    interfaceHash: interfaceHash(task.interface),
    inputHashes,
  };
  return { key: sha256(stableStringify(parts)), parts };
}

const short = (h: string) => h.replace(/^sha256:/, "").slice(0, 10);

/**
 * Why `current` missed, compared with the most recent entry for the same task:
 * which of code version, interface or inputs changed.
 */
export function explainMiss(current: CacheKeyParts, previous: CacheKeyParts | undefined): string {
  if (!previous) return `no cached result for task ${current.task} yet`;
  const reasons: string[] = [];
  if (previous.version !== current.version) {
    reasons.push(`code changed (cache version ${short(previous.version)} -> ${short(current.version)})`);
  }
  if (previous.interfaceHash !== current.interfaceHash) reasons.push("interface changed");
  const names = new Set([...Object.keys(previous.inputHashes), ...Object.keys(current.inputHashes)]);
  const changed = [...names].filter((n) => previous.inputHashes[n] !== current.inputHashes[n]).sort();
  if (changed.length > 0) {
    reasons.push(
      `input${changed.length > 1 ? "s" : ""} ${changed
        .map((n) => `${n} (${short(previous.inputHashes[n] ?? "none")} -> ${short(current.inputHashes[n] ?? "none")})`)
        .join(", ")} changed`,
    );
  }
  return reasons.length > 0
    ? `latest cached result for ${current.task} differs: ${reasons.join("; ")}`
    : `no cached result for these inputs of ${current.task}`;
}
