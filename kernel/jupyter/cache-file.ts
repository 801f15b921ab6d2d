/**
 * Files the kernel keeps between kernels (under ~/.cache/petrel/kernel): written
 * whole or not at all, and only as a best effort. A kernel that cannot write its
 * cache works the same, only starts slower.
 */
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

/** Writes `data` to `file` through a temporary file and a rename; a failure is ignored. */
export function writeCacheFile(file: string, data: string, encoding: BufferEncoding = "utf8"): void {
  try {
    mkdirSync(dirname(file), { recursive: true });
    const temporary = `${file}.${process.pid}.tmp`;
    writeFileSync(temporary, data, encoding);
    renameSync(temporary, file);
  } catch {
    // Not cached.
  }
}
