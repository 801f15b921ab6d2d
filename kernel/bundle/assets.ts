/**
 * Bundle assets: files an entity reads at run time beside its code (a notebook
 * task's notebook). The builder stores their text in the manifest, by path relative
 * to the build's root directory, so the bundle's hash covers them; `loadBundle`
 * writes them next to the module it imports and, while the module evaluates, tells
 * the entities being defined where their files now are.
 */
import { realpathSync } from "node:fs";
import { join } from "node:path";

/** A file an entity needs at run time, as the entity holds it (what `buildBundle` ships). */
export interface BundleAsset {
  /** Absolute path where the entity was defined. */
  readonly path: string;
  /** Its content, as the entity read it when it was defined. */
  readonly text: string;
}

/** Where a loaded module's entities find their assets: entity name -> local files. */
type ModuleAssets = ReadonlyMap<string, readonly string[]>;

/** By module file (as imported, and its real path: stack traces show the latter). */
const loaded = new Map<string, ModuleAssets>();

/** Records where the entities of the module `file` find their assets, before it is imported. */
export function registerModuleAssets(file: string, assets: ModuleAssets): void {
  loaded.set(file, assets);
  try {
    loaded.set(realpathSync(file), assets);
  } catch {
    // Not written yet: the path as given is what the stack shows.
  }
}

/**
 * The local copy of an asset of `entity` when `definingFile` is a loaded bundle
 * module: the one whose name ends like `requested` (the path as the code wrote
 * it), else its first. Undefined outside bundles.
 */
export function bundleAssetPath(definingFile: string | undefined, entity: string, requested: string): string | undefined {
  if (definingFile === undefined) return undefined;
  const files = loaded.get(definingFile)?.get(entity);
  if (!files || files.length === 0) return undefined;
  const base = requested.split(/[\\/]/).at(-1);
  return files.find((f) => f.split(/[\\/]/).at(-1) === base) ?? files[0];
}

/** A manifest asset key (`/`-separated, relative, `..` allowed) as a path under `dir` that never leaves it. */
export function assetFile(dir: string, key: string): string {
  return join(dir, ...key.split("/").map((segment) => (segment === ".." ? "_up_" : segment)));
}

/** Whether a manifest asset key is a plain relative path: no absolute path, no empty, `.` or backslashed segment. */
export function isAssetKey(key: string): boolean {
  if (key.length === 0 || key.startsWith("/") || /^[A-Za-z]:/.test(key) || key.includes("\\") || key.includes("\0")) return false;
  return key.split("/").every((s) => s !== "" && s !== "." && s !== "_up_");
}
