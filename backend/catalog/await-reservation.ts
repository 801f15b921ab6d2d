/**
 * Waiting for a key that another execution is computing: poll until either its
 * entry appears (HIT) or its reservation is released or expires without one
 * (this owner then holds the reservation and computes). Polling keeps it the
 * same on every kind; Redis keyspace events or LISTEN/NOTIFY would only save
 * a fraction of a poll interval.
 */
import { setTimeout as delay } from "node:timers/promises";
import type { CacheKey } from "../../kernel/index.js";
import { DEFAULT_RESERVATION_POLL_MS, type AwaitReservationOptions, type AwaitReservationResult, type Catalog, type CatalogLookup, type CatalogScope } from "./types.js";

/**
 * Reserves `key` for `owner`, or waits until it can: resolves with HIT as soon
 * as an entry for the key is in the catalog, or with `reserved` once this owner
 * holds the reservation and there is still no entry.
 *
 * Each round reserves first and looks up second. An owner stores its entry
 * before releasing, so whichever order the other owner's store and release fall
 * in, a round that gets the reservation also sees any entry stored under it
 * (and then releases the reservation again and returns the HIT).
 *
 * @example
 * ```ts
 * const got = await awaitReservation(catalog, scope, key, attemptId, { blobs, ttlMs: 30_000 });
 * if (got.status === "HIT") return got.entry.outputs;
 * // ... run the task, heartbeating every ttlMs / 3, then:
 * await catalog.store(scope, key, entry);
 * await catalog.release(scope, key.key, attemptId);
 * ```
 */
export async function awaitReservation(
  catalog: Catalog,
  scope: CatalogScope,
  key: CacheKey,
  owner: string,
  options: AwaitReservationOptions,
): Promise<AwaitReservationResult> {
  const { blobs, ttlMs, signal } = options;
  const pollMs = options.pollMs ?? DEFAULT_RESERVATION_POLL_MS;
  for (;;) {
    signal?.throwIfAborted();
    const reserved = await catalog.reserve(scope, key.key, owner, ttlMs);
    let found: CatalogLookup;
    try {
      found = await catalog.lookup(scope, key, blobs);
    } catch (error) {
      // The caller never learns it held the reservation, so nobody would release it before it expires.
      if (reserved.acquired) await catalog.release(scope, key.key, owner).catch(() => undefined);
      throw error;
    }
    if (found.status === "HIT") {
      if (reserved.acquired) await catalog.release(scope, key.key, owner);
      return found;
    }
    if (reserved.acquired) return { status: "reserved", reason: found.reason };
    try {
      await delay(pollMs, undefined, signal ? { signal } : {});
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      throw error;
    }
  }
}
