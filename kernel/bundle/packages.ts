/** npm packages seen from source files: names, installed versions, and Petrel's own package. */
import { existsSync, readFileSync } from "node:fs";
import { isBuiltin } from "node:module";
import { dirname, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";

/** The name user code imports Petrel by. */
export const PETREL_PACKAGE = "petrel";

/** The package a bare specifier names: `@scope/name` or `name`, without a subpath. */
export function packageName(specifier: string): string {
  const parts = specifier.split("/");
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0]!;
}

/** True for Node's built-in modules (`node:fs`, `fs`): part of the runtime, never installed. */
export function isBuiltinSpecifier(specifier: string): boolean {
  return specifier.startsWith("node:") || isBuiltin(specifier);
}

function readPackageJson(file: string): { name?: string; version?: string } | undefined {
  try {
    return JSON.parse(readFileSync(file, "utf8")) as { name?: string; version?: string };
  } catch {
    return undefined;
  }
}

/** Petrel's package root (sources or dist alike): the nearest directory above this file whose package.json is Petrel's. */
export const PETREL_ROOT: string = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pj = join(dir, "package.json");
    if (existsSync(pj) && readPackageJson(pj)?.name === PETREL_PACKAGE) return dir;
    const up = dirname(dir);
    if (up === dir) return dirname(dirname(dirname(fileURLToPath(import.meta.url))));
    dir = up;
  }
})();

/** Petrel's own version. */
export function petrelVersion(): string {
  return readPackageJson(join(PETREL_ROOT, "package.json"))?.version ?? "0.0.0";
}

/** Folders of Petrel's package that users may import, and the specifier each is published under. */
const PUBLIC_FOLDERS: Record<string, string> = { kernel: PETREL_PACKAGE, remote: `${PETREL_PACKAGE}/remote`, backend: `${PETREL_PACKAGE}/backend` };

/**
 * The package specifier for a file inside Petrel's own package (`../../kernel/index.js`
 * from an example in this repository is `petrel`), or undefined for any other file.
 */
export function petrelSpecifierOf(file: string): string | undefined {
  const rel = relative(PETREL_ROOT, file);
  if (rel.startsWith("..") || rel === "") return undefined;
  const parts = rel.split(sep);
  if (parts[0] === "dist") parts.shift();
  return parts.length > 1 ? PUBLIC_FOLDERS[parts[0]!] : undefined;
}

/**
 * The installed version of package `name` as Node would find it from `fromFile`:
 * the first `node_modules/<name>/package.json` walking up, or the enclosing package
 * itself when it is `name` (self-reference). Undefined when it is not installed.
 */
export function installedVersion(name: string, fromFile: string): string | undefined {
  if (name === PETREL_PACKAGE) return petrelVersion();
  let dir = dirname(fromFile);
  for (;;) {
    const installed = readPackageJson(join(dir, "node_modules", name, "package.json"));
    if (installed?.version) return installed.version;
    const own = readPackageJson(join(dir, "package.json"));
    if (own?.name === name && own.version) return own.version;
    const up = dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}
