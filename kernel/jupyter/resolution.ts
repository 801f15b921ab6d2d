/**
 * How a notebook's imports resolve, wherever the notebook lives. The kernel runs in
 * the notebook's folder, which often has no node_modules at all, yet `import { task }
 * from "petrel"` must type-check and run, against the very copy of Petrel the kernel
 * runs (one module instance: its registries, its display). Two rules, applied alike
 * to the type checker (a virtual file system overlay) and to `require` (a hook):
 *
 * - `petrel` and `petrel/*` always mean the kernel's own package, as if it were
 *   installed in `<notebook dir>/node_modules/petrel`.
 * - Any other package the notebook's folders do not provide comes from the kernel's
 *   own dependencies, as if they were in `/node_modules` (the last place Node and
 *   TypeScript look): the notebook's own node_modules always win. This is also how
 *   `@types/node` (for `console`, `process`, ...) is found outside the install folder.
 */
import { existsSync, statSync } from "node:fs";
import { builtinModules } from "node:module";
import Module from "node:module";
import { join, sep } from "node:path";
import { PACKAGE_ROOT, TSLAB_ENTRY } from "./versions.js";

/** The package name notebooks import Petrel by. */
export const PACKAGE_NAME = "petrel";

/** A type package holding the kernel's globals (`display`), visible to every cell. */
export const GLOBALS_TYPE_PACKAGE = "petrel-kernel-globals";

/** Directories holding the kernel's own dependencies, nearest first (tslab's own last: its @types/node). */
const KERNEL_MODULE_DIRS: readonly string[] = [
  ...(Module as unknown as { _nodeModulePaths(dir: string): string[] })._nodeModulePaths(PACKAGE_ROOT),
  join(TSLAB_ENTRY, "..", "..", "node_modules"),
].filter((d) => isDirectory(d));

/** A read-only view of extra files and directories for the type checker. */
export interface Overlay {
  /** The real path behind a virtual path, or undefined when `path` is not virtual. */
  real(path: string): string | undefined;
  /** Contents of a purely virtual file. */
  content(path: string): string | undefined;
  /** Whether `path` is a virtual directory (an ancestor of mounted paths). */
  isDirectory(path: string): boolean;
  /** Subdirectories a virtual directory adds to its listing. */
  subdirectories(path: string): readonly string[];
}

/**
 * The overlay for a notebook in `cwd`. `globals` is the declaration file of the
 * kernel's globals, served as the type package `petrel-kernel-globals` so every cell
 * sees it.
 */
export function createOverlay(cwd: string, globals: string): Overlay {
  const petrelMount = join(cwd, "node_modules", PACKAGE_NAME);
  const typesDir = "/node_modules/@types";
  const globalsDir = `${typesDir}/${GLOBALS_TYPE_PACKAGE}`;
  const globalsFile = `${globalsDir}/index.d.ts`;
  const typesNode = kernelPackageDir("@types/node");
  const virtualDirs = new Set([join(cwd, "node_modules"), "/node_modules", typesDir, globalsDir]);
  const listings = new Map<string, string[]>([
    [join(cwd, "node_modules"), [PACKAGE_NAME]],
    // Only these two are type packages for every cell: the kernel's other @types stay out.
    [typesDir, typesNode ? ["node", GLOBALS_TYPE_PACKAGE] : [GLOBALS_TYPE_PACKAGE]],
  ]);
  return {
    real(path) {
      if (path === petrelMount || path.startsWith(`${petrelMount}/`)) return PACKAGE_ROOT + path.slice(petrelMount.length);
      if (!path.startsWith("/node_modules/")) return undefined;
      const rest = path.slice("/node_modules/".length);
      const parts = rest.split("/");
      const name = rest.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0]!;
      if (!name || name === "@types" || name === `@types/${GLOBALS_TYPE_PACKAGE}`) return undefined;
      const dir = kernelPackageDir(name);
      return dir ? dir + rest.slice(name.length) : undefined;
    },
    content: (path) => (path === globalsFile ? globals : undefined),
    isDirectory: (path) => virtualDirs.has(path),
    subdirectories: (path) => listings.get(path) ?? [],
  };
}

const packageDirs = new Map<string, string | undefined>();

/** Where the kernel's dependency `name` is installed, if it is. */
function kernelPackageDir(name: string): string | undefined {
  if (!packageDirs.has(name)) {
    packageDirs.set(
      name,
      KERNEL_MODULE_DIRS.map((d) => join(d, name)).find((d) => isDirectory(d)),
    );
  }
  return packageDirs.get(name);
}

type ResolveFilename = (request: string, parent: unknown, isMain: boolean, options?: unknown) => string;

const BUILTINS = new Set(builtinModules);

/**
 * Makes `require` (which compiled cells use) follow the same two rules. Returns a
 * function that removes the hook.
 */
export function installRequireHook(): () => void {
  const M = Module as unknown as { _resolveFilename: ResolveFilename; _nodeModulePaths(dir: string): string[] };
  const original = M._resolveFilename;
  // Resolving as if required from the package's own package.json: self-references
  // ("petrel" through its "exports") and its dependencies resolve from there.
  const own = new Module(join(PACKAGE_ROOT, "package.json"));
  own.filename = join(PACKAGE_ROOT, "package.json");
  own.paths = M._nodeModulePaths(PACKAGE_ROOT);
  const hook: ResolveFilename = function (this: unknown, request, parent, isMain, options) {
    if (request === PACKAGE_NAME || request.startsWith(`${PACKAGE_NAME}/`)) return original.call(this, request, own, false);
    try {
      return original.call(this, request, parent, isMain, options);
    } catch (e) {
      if (!isBarePackage(request) || (e as { code?: string }).code !== "MODULE_NOT_FOUND" || isInNodeModules(parent)) throw e;
      try {
        return original.call(this, request, own, false);
      } catch {
        throw e;
      }
    }
  };
  M._resolveFilename = hook;
  return () => {
    if (M._resolveFilename === hook) M._resolveFilename = original;
  };
}

function isBarePackage(request: string): boolean {
  return !request.startsWith(".") && !request.startsWith("/") && !request.startsWith("node:") && !BUILTINS.has(request);
}

/** Packages resolve their own dependencies; the fallback is for the notebook's code only. */
function isInNodeModules(parent: unknown): boolean {
  const file = (parent as { filename?: unknown } | undefined)?.filename;
  return typeof file === "string" && file.includes(`${sep}node_modules${sep}`);
}

function isDirectory(path: string): boolean {
  try {
    return existsSync(path) && statSync(path).isDirectory();
  } catch {
    return false;
  }
}
