/**
 * Packages loaded on first use: importing apache-arrow or keyv costs tens to
 * hundreds of milliseconds, which a task process that never touches a DataFrame
 * or a cache should not pay. Loaded by path through require(esm), so the module
 * is the same instance that `import "<pkg>"` gives elsewhere (`instanceof` holds).
 */
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

/** A loader for the ES module package `specifier`, which loads it once, on its first call. */
export function lazyModule<T>(specifier: string): () => T {
  let loaded: T | undefined;
  return () => (loaded ??= createRequire(import.meta.url)(fileURLToPath(import.meta.resolve(specifier))) as T);
}
