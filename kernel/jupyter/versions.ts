/**
 * Where the kernel's own package is, and the versions it reports: read from
 * package.json files, so `kernel_info` answers before TypeScript is loaded.
 */
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The `petrel` package's root directory (sources or installed package alike). */
export const PACKAGE_ROOT: string = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pj = join(dir, "package.json");
    if (existsSync(pj) && readJson(pj).name === "petrel") return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`cannot find the petrel package above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
})();

const packageRequire = createRequire(join(PACKAGE_ROOT, "package.json"));

/** tslab's entry file, from which its own dependencies (its TypeScript fork) resolve. */
export const TSLAB_ENTRY: string = packageRequire.resolve("tslab");

const tslabRequire = createRequire(TSLAB_ENTRY);

/** The versions a kernel reports. */
export const VERSIONS = {
  petrel: String(readJson(join(PACKAGE_ROOT, "package.json")).version ?? "0.0.0"),
  tslab: String(readJson(join(dirname(dirname(TSLAB_ENTRY)), "package.json")).version ?? "?"),
  /** The TypeScript that cells are compiled with: tslab's fork, not the project's compiler. */
  typescript: String(readJson(tslabRequire.resolve("@tslab/typescript-for-tslab/package.json")).version ?? "?"),
  node: process.versions.node,
} as const;

function readJson(file: string): Record<string, unknown> {
  return JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
}
