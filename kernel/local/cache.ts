/**
 * The local cache: entries keyed by content (see computeCacheKey), stored through
 * keyv. A hit is served only when every blob its outputs refer to is still present,
 * and a miss always says why.
 */
import type { Keyv } from "keyv";
import { blobsOf, type CacheStatus, type LiteralMap } from "../model/index.js";
import { explainMiss, type BlobAccess, type CacheKey, type CacheKeyParts } from "../types/index.js";

/** One cached result. */
export interface CacheEntry {
  parts: CacheKeyParts;
  outputs: LiteralMap;
  createdAt: string;
  /** The run and node that produced it. */
  producedBy: { run: string; node: string };
}

/** The outcome of a lookup. */
export interface CacheLookup {
  status: Extract<CacheStatus, "HIT" | "MISS">;
  entry?: CacheEntry;
  reason?: string;
}

/** A cache of task results, shared by every run that uses the same keyv store. */
export class LocalCache {
  constructor(readonly keyv: Keyv) {}

  /** Looks a key up; explains a miss against the latest entry for the same task. */
  async lookup(key: CacheKey, blobs: BlobAccess): Promise<CacheLookup> {
    const entry = (await this.keyv.get(`entry:${key.key}`)) as CacheEntry | undefined;
    if (entry) {
      const missing = Object.values(entry.outputs)
        .flatMap((l) => blobsOf(l))
        .find((b) => !blobs.has(b.hash));
      if (!missing) return { status: "HIT", entry };
      return { status: "MISS", reason: `cached outputs refer to blob ${missing.hash}, which is no longer stored` };
    }
    const latest = (await this.keyv.get(`latest:${key.parts.task}`)) as CacheKeyParts | undefined;
    return { status: "MISS", reason: explainMiss(key.parts, latest) };
  }

  /** Stores a result for a key and records it as the task's latest entry. */
  async store(key: CacheKey, entry: CacheEntry): Promise<void> {
    await this.keyv.set(`entry:${key.key}`, entry);
    await this.keyv.set(`latest:${key.parts.task}`, key.parts);
  }
}
