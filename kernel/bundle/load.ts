/**
 * Loading a bundle: its module is written next to a project's node_modules and
 * imported, so `petrel` and the packages it imports resolve as any module's would;
 * the entities it exports come back by name, with the cache versions they had where
 * the bundle was built.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { AnyTask, AnyWorkflow, LaunchPlan } from "../dsl/index.js";
import { stableStringify, type TaskSpec } from "../model/index.js";
import { assetFile, isAssetKey, registerModuleAssets } from "./assets.js";
import { BUNDLE_FORMAT_VERSION, encodeBundle, type Bundle, type BundleManifest } from "./build.js";
import { pinCodeClosure } from "./closure.js";
import { BUNDLE_ERRORS, BundleError } from "./errors.js";
import { installedVersion, PETREL_PACKAGE } from "./packages.js";

/** Where bundles are written to be imported, under the working directory, unless `dir` says otherwise. */
export const DEFAULT_BUNDLE_DIR = join(".petrel", "bundles");

/** Options of `loadBundle()`. */
export interface LoadBundleOptions {
  /**
   * Directory the module file is written to and imported from: packages the bundle
   * imports resolve from there, as from any file of the project (so it belongs inside
   * the project). Default: `.petrel/bundles` under the working directory.
   */
  dir?: string;
  /** Refuse the bundle unless its hash is this (`sha256:<hex>`): what a runtime fetching a version by hash passes. */
  expectedHash?: string;
  /**
   * "check" (default): each package in the manifest must be installed, where the
   * module is written, at the version the bundle was built with; "ignore" skips that.
   */
  packages?: "check" | "ignore";
}

/** Any launch plan. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyLaunchPlan = LaunchPlan<any, any>;
type LoadedEntity = AnyTask | AnyWorkflow | AnyLaunchPlan;

/** A loaded bundle: its entities by name (transitively: every task its workflows use), ready to run. */
export interface LoadedBundle {
  readonly hash: string;
  readonly manifest: BundleManifest;
  readonly tasks: ReadonlyMap<string, AnyTask>;
  readonly workflows: ReadonlyMap<string, AnyWorkflow>;
  readonly launchPlans: ReadonlyMap<string, AnyLaunchPlan>;
  /** The module's exports, by the names in `manifest.exports`. */
  readonly exports: Readonly<Record<string, unknown>>;
  /** The module file that was imported. */
  readonly file: string;
}

/** A bundle's parts, from its bytes. */
export interface DecodedBundle {
  readonly code: string;
  readonly manifest: BundleManifest;
  readonly hash: string;
}

/** Parses and checks bundle bytes (`bundle.bytes()`). */
export function decodeBundle(bytes: Uint8Array, expectedHash?: string): DecodedBundle {
  const hash = `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
  if (expectedHash !== undefined && expectedHash !== hash) {
    throw new BundleError(BUNDLE_ERRORS.INVALID_BUNDLE, `bundle bytes hash to ${hash}, not the expected ${expectedHash}: corrupted or the wrong bundle`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (e) {
    throw new BundleError(BUNDLE_ERRORS.INVALID_BUNDLE, `not a bundle: ${(e as Error).message}`, {}, { cause: e });
  }
  const { code, manifest } = (parsed ?? {}) as { code?: unknown; manifest?: Partial<BundleManifest> };
  if (typeof code !== "string" || typeof manifest !== "object" || manifest === null) {
    throw new BundleError(BUNDLE_ERRORS.INVALID_BUNDLE, "not a bundle: expected an object with code and manifest");
  }
  if (manifest.version !== BUNDLE_FORMAT_VERSION) {
    throw new BundleError(
      BUNDLE_ERRORS.INVALID_BUNDLE,
      `bundle format version ${JSON.stringify(manifest.version)} is not supported (this Petrel reads version ${BUNDLE_FORMAT_VERSION})`,
    );
  }
  for (const key of ["entities", "exports", "packages", "specs"] as const) {
    if (typeof manifest[key] !== "object" || manifest[key] === null) {
      throw new BundleError(BUNDLE_ERRORS.INVALID_BUNDLE, `not a bundle: the manifest has no ${key}`);
    }
  }
  checkAssets(manifest);
  return { code, manifest: manifest as BundleManifest, hash };
}

/**
 * Loads a bundle built by `buildBundle`, in this process, with no notebook or source
 * file around: writes its module under `dir`, imports it, and returns the entities.
 * The bundle's `petrel` import is bound to this very Petrel module, so the loaded
 * entities run on the same engine as the caller's.
 *
 * Cache versions: a task's default cache version is the hash of its code closure,
 * which, analysed here, would see the bundle's generated JS instead of the source
 * it came from. So the manifest carries each task's spec as the source session
 * compiled it, and before anything reads a loaded task's spec, its function is
 * pinned (`pinCodeClosure`) to the recorded closure hash: the loaded task reports
 * exactly the version it had in the notebook or file, and a result cached there is
 * a hit here. A loaded task whose version still differs (its spec was read while
 * the module was evaluating) is a `VERSION_MISMATCH` error, never a silent miss.
 *
 * Assets (a notebook task's notebook) are written under `<module>.assets/` beside
 * the module, and the entities the module defines find them there by name: a
 * loaded notebook task runs the notebook that was shipped, with no original file.
 *
 * @example
 * ```ts
 * const { workflows } = await loadBundle(readFileSync("training.bundle"), { expectedHash });
 * const run = await workflows.get("training")!.run({ rows: 1000 });
 * ```
 */
export async function loadBundle(bundle: Bundle | Uint8Array, options: LoadBundleOptions = {}): Promise<LoadedBundle> {
  const decoded = bundle instanceof Uint8Array ? decodeBundle(bundle, options.expectedHash) : decodeBundle(encodeBundle(bundle.code, bundle.manifest), options.expectedHash);
  const { manifest } = decoded;
  const dir = resolve(options.dir ?? DEFAULT_BUNDLE_DIR);
  const code = bindPetrel(decoded.code);
  // Assets are part of the module's identity: the same code with another notebook is another module.
  const assets = manifest.assets ? stableStringify({ assets: manifest.assets, entityAssets: manifest.entityAssets ?? {} }) : "";
  const file = join(dir, `${createHash("sha256").update(assets ? `${code}\0${assets}` : code).digest("hex").slice(0, 32)}.mjs`);
  if (options.packages !== "ignore") checkPackages(manifest, file);
  writeOnce(file, code);
  if (manifest.assets) writeAssets(manifest, file);

  let module: Record<string, unknown>;
  try {
    module = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (e) {
    throw new BundleError(BUNDLE_ERRORS.INVALID_BUNDLE, `bundle ${decoded.hash} failed to load: ${(e as Error).message}`, {}, { cause: e });
  }

  const tasks = new Map<string, AnyTask>();
  const workflows = new Map<string, AnyWorkflow>();
  const launchPlans = new Map<string, AnyLaunchPlan>();
  const add = (e: LoadedEntity): void => {
    const map = (e.kind === "task" ? tasks : e.kind === "workflow" ? workflows : launchPlans) as Map<string, LoadedEntity>;
    if (map.has(e.name)) return;
    map.set(e.name, e);
    if (e.kind === "task") return;
    for (const registry of [e.entities.tasks, e.entities.workflows, e.entities.launchPlans]) {
      for (const inner of registry.values()) add(inner as LoadedEntity);
    }
  };
  for (const [exportName, expected] of Object.entries(manifest.exports)) {
    const value = module[exportName] as Partial<LoadedEntity> | undefined;
    if (!value || value.kind !== expected.kind || value.name !== expected.name) {
      throw new BundleError(
        BUNDLE_ERRORS.INVALID_BUNDLE,
        `bundle ${decoded.hash}: export ${exportName} should be ${expected.kind} ${expected.name}, got ${value ? `${String(value.kind)} ${String(value.name)}` : "nothing"}`,
        { declaration: exportName },
      );
    }
    add(value as LoadedEntity);
  }

  pinCacheVersions(tasks, manifest, decoded.hash);
  return { hash: decoded.hash, manifest, tasks, workflows, launchPlans, exports: module, file };
}

/**
 * Writes the manifest's assets under `<module>.assets/` (a `..` segment of a key
 * becomes `_up_`, so nothing lands outside it) and tells the entities the module
 * defines where their files are.
 */
function writeAssets(manifest: BundleManifest, moduleFile: string): void {
  const dir = moduleFile.replace(/\.mjs$/, ".assets");
  for (const [key, text] of Object.entries(manifest.assets ?? {})) writeOnce(assetFile(dir, key), text);
  const byEntity = new Map<string, string[]>();
  for (const [entity, keys] of Object.entries(manifest.entityAssets ?? {})) byEntity.set(entity, keys.map((k) => assetFile(dir, k)));
  registerModuleAssets(moduleFile, byEntity);
}

function checkAssets(manifest: Partial<BundleManifest>): void {
  const { assets, entityAssets } = manifest;
  if (assets === undefined && entityAssets === undefined) return;
  const bad = (what: string) => new BundleError(BUNDLE_ERRORS.INVALID_BUNDLE, `not a bundle: the manifest's ${what}`);
  if (typeof assets !== "object" || assets === null) throw bad("assets is not an object of texts");
  for (const [key, text] of Object.entries(assets)) {
    if (!isAssetKey(key)) throw bad(`asset path ${JSON.stringify(key)} is not a plain relative path`);
    if (typeof text !== "string") throw bad(`asset ${key} is not text`);
  }
  if (typeof entityAssets !== "object" || entityAssets === null) throw bad("entityAssets is not an object");
  for (const [entity, keys] of Object.entries(entityAssets)) {
    if (!Array.isArray(keys) || keys.some((k) => typeof k !== "string" || !(k in assets))) throw bad(`entityAssets of ${entity} names assets it does not hold`);
  }
}

/** Points the bundle's `petrel` imports at the Petrel module running this loader (dist or sources alike). */
function bindPetrel(code: string): string {
  const url = petrelEntry();
  const lines = code.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.startsWith("import ") && line.endsWith(` from "${PETREL_PACKAGE}";`)) {
      lines[i] = `${line.slice(0, -` from "${PETREL_PACKAGE}";`.length)} from ${JSON.stringify(url)};`;
    }
  }
  return lines.join("\n");
}

let entry: string | undefined;
function petrelEntry(): string {
  if (entry) return entry;
  for (const candidate of ["../index.js", "../index.ts"]) {
    const url = new URL(candidate, import.meta.url);
    if (existsSync(fileURLToPath(url))) return (entry = url.href);
  }
  throw new BundleError(BUNDLE_ERRORS.INVALID_BUNDLE, `cannot find Petrel's own entry module next to ${import.meta.url}`);
}

function checkPackages(manifest: BundleManifest, file: string): void {
  const problems: string[] = [];
  for (const [name, version] of Object.entries(manifest.packages)) {
    if (version === "*") continue;
    const installed = installedVersion(name, file);
    if (installed === undefined) problems.push(`${name}@${version} is not installed`);
    else if (installed !== version) problems.push(`${name} is ${installed}, the bundle was built with ${version}`);
  }
  if (problems.length > 0) {
    throw new BundleError(
      BUNDLE_ERRORS.PACKAGE_MISMATCH,
      `the bundle's packages do not match what is installed for ${file}: ${problems.join("; ")} (install those versions, or load with { packages: "ignore" })`,
    );
  }
}

/** Content-addressed: an existing file with this name already holds this code. Written atomically, so concurrent loaders never import half a file. */
function writeOnce(file: string, code: string): void {
  if (existsSync(file) && readFileSync(file, "utf8") === code) return;
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  writeFileSync(tmp, code);
  renameSync(tmp, file);
}

function pinCacheVersions(tasks: ReadonlyMap<string, AnyTask>, manifest: BundleManifest, hash: string): void {
  const specs = new Map(manifest.specs.tasks.map((s) => [s.name, s] as const));
  for (const [name, task] of tasks) {
    const spec = specs.get(name);
    if (!spec?.cache.enabled || spec.cache.versionSource === "explicit") continue;
    pinCodeClosure(task.fn as (...args: never[]) => unknown, {
      hash: spec.cache.version,
      source: spec.cache.versionSource,
      declarations: [],
      packages: [],
    });
  }
  for (const [name, task] of tasks) {
    const recorded = specs.get(name);
    if (!recorded) continue;
    const actual: TaskSpec["cache"] = task.spec.cache;
    if (actual.enabled !== recorded.cache.enabled || actual.version !== recorded.cache.version) {
      throw new BundleError(
        BUNDLE_ERRORS.VERSION_MISMATCH,
        `bundle ${hash}: task ${name} loaded with cache version ${actual.version || "(none)"}, but was built with ${recorded.cache.version || "(none)"}`,
        { declaration: name },
      );
    }
  }
}
