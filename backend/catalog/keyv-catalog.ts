/**
 * What every catalog kind shares: entries through keyv (so SQLite, PostgreSQL
 * and Redis hold the same JSON under the same keys), input checks, and errors.
 * Reservations cannot be built on keyv's get/set (no compare-and-set), so each
 * kind brings its own atomic {@link Reservations}.
 */
import { Keyv, type KeyvStoreAdapter } from "keyv";
import { blobsOf, explainMiss, NAME_PATTERN, stableStringify, type CacheKey, type CacheKeyParts } from "../../kernel/index.js";
import { BLOB_ERRORS, isBlobStoreError, type BlobStore } from "../blobs/index.js";
import { awaitReservation } from "./await-reservation.js";
import {
  CATALOG_ERRORS,
  CatalogError,
  isCatalogError,
  MAX_CATALOG_KEY_LENGTH,
  type Catalog,
  type CatalogConfig,
  type CatalogEntry,
  type CatalogLookup,
  type CatalogScope,
  type ReserveResult,
} from "./types.js";

/** A kind's atomic reservations; arguments are already checked. */
export interface Reservations {
  reserve(scope: CatalogScope, key: string, owner: string, ttlMs: number): Promise<ReserveResult>;
  heartbeat(scope: CatalogScope, key: string, owner: string, ttlMs: number): Promise<boolean>;
  release(scope: CatalogScope, key: string, owner: string): Promise<void>;
}

/** The pieces a kind hands to {@link createKeyvCatalog}. */
export interface KeyvCatalogParts {
  kind: CatalogConfig["kind"];
  /** Where the data lives, for messages (no passwords). */
  where: string;
  keyv: Keyv;
  /** Put before every entry key (Redis shares one keyspace; SQL kinds have their own table). */
  keyPrefix: string;
  reservations: Reservations;
  /** The blob store `acquire` checks HITs against when its call names none. */
  blobs: BlobStore | undefined;
  /** Closes connections once. */
  close(): Promise<void>;
}

/** The URL without its password, for messages. */
export const redactUrl = (url: string) => url.replace(/\/\/([^:/@]*):[^@]*@/, "//$1:***@");

/** The keyv key of a cached entry. */
export const entryKey = (prefix: string, scope: CatalogScope, key: string) => `${prefix}${scope.project}/${scope.domain}/entry/${key}`;
/** The keyv key of a task's latest key parts, which explain a miss. */
export const latestKey = (prefix: string, scope: CatalogScope, task: string) =>
  `${prefix}${scope.project}/${scope.domain}/latest/${encodeURIComponent(task)}`;

/**
 * A keyv over a kind's store adapter. Keys are built by {@link entryKey} and
 * {@link latestKey}, so keyv's own namespace prefix stays off and every kind
 * holds the same keys; errors reach the caller instead of reading as misses.
 */
export function createCatalogKeyv(store: KeyvStoreAdapter): Keyv {
  const keyv = new Keyv({ store, namespace: undefined, useKeyPrefix: false, throwOnErrors: true });
  // Failures already reject the call that caused them (throwOnErrors); the event has nothing to add.
  keyv.on("error", () => undefined);
  return keyv;
}

/** Builds a Catalog from a kind's keyv store and reservations. */
export function createKeyvCatalog(parts: KeyvCatalogParts): Catalog {
  const { kind, keyv, keyPrefix, reservations } = parts;
  let closed: Promise<void> | undefined;
  /** Runs one storage operation, turning a driver's failure into CATALOG_UNAVAILABLE. */
  const io = async <T>(op: string, fn: () => Promise<T>): Promise<T> => {
    if (closed) throw new CatalogError(CATALOG_ERRORS.CLOSED, `catalog (${kind}): ${op} after close()`, { kind, op });
    try {
      return await fn();
    } catch (error) {
      if (isCatalogError(error)) throw error;
      throw new CatalogError(CATALOG_ERRORS.UNAVAILABLE, `catalog (${kind} ${parts.where}): ${op} failed: ${(error as Error)?.message ?? String(error)}`, { kind, op }, { cause: error });
    }
  };

  const catalog: Catalog = {
    kind,

    async lookup(scope, key, blobs) {
      checkScope(scope);
      checkCacheKey(key);
      const raw: unknown = await io("lookup", () => keyv.get(entryKey(keyPrefix, scope, key.key)));
      if (raw !== undefined && raw !== null) {
        if (!isEntry(raw)) return { status: "MISS", reason: "the cached entry for this key is unreadable; running the task replaces it" };
        const missing = await firstMissingBlob(raw, blobs);
        if (missing) return { status: "MISS", reason: `cached outputs refer to blob ${missing}, which is no longer in the blob store` };
        const by = raw.producedBy;
        return { status: "HIT", entry: raw, reason: `cached by execution ${by.execution} node ${by.node} at ${raw.createdAt}` };
      }
      const latest = (await io("lookup", () => keyv.get(latestKey(keyPrefix, scope, key.parts.task)))) as CacheKeyParts | undefined;
      return { status: "MISS", reason: explainMiss(key.parts, isParts(latest) ? latest : undefined) } satisfies CatalogLookup;
    },

    async store(scope, key, entry) {
      checkScope(scope);
      checkCacheKey(key);
      checkEntry(key, entry);
      // The entry first: a crash between the two writes leaves a findable entry and a stale explanation, never the reverse.
      await io("store", () => keyv.set(entryKey(keyPrefix, scope, key.key), entry));
      await io("store", () => keyv.set(latestKey(keyPrefix, scope, key.parts.task), key.parts));
    },

    async reserve(scope, key, owner, ttlMs) {
      checkReservation(scope, key, owner, ttlMs);
      return io("reserve", () => reservations.reserve(scope, key, owner, ttlMs));
    },

    async heartbeat(scope, key, owner, ttlMs) {
      checkReservation(scope, key, owner, ttlMs);
      return io("heartbeat", () => reservations.heartbeat(scope, key, owner, ttlMs));
    },

    async release(scope, key, owner) {
      checkReservation(scope, key, owner, 1);
      return io("release", () => reservations.release(scope, key, owner));
    },

    async acquire(scope, key, owner, options) {
      const blobs = options?.blobs ?? parts.blobs;
      if (!blobs) {
        invalid("acquire: a HIT is checked against the blob store; pass options.blobs or openCatalog(config, { blobs })", { field: "blobs" });
      }
      return awaitReservation(catalog, scope, key, owner, { ...options, blobs: blobs! });
    },

    close() {
      closed ??= parts.close();
      return closed;
    },
  };
  return catalog;
}

/** The first blob (in output order) that `blobs` no longer holds; a malformed hash counts as missing. */
async function firstMissingBlob(entry: CatalogEntry, blobs: BlobStore): Promise<string | undefined> {
  const hashes = [...new Set(Object.values(entry.outputs).flatMap((literal) => blobsOf(literal).map((b) => b.hash)))];
  const present = await Promise.all(
    hashes.map(async (hash) => {
      try {
        return (await blobs.stat(hash)) !== undefined;
      } catch (error) {
        if (isBlobStoreError(error) && error.code === BLOB_ERRORS.INVALID_KEY) return false;
        throw error;
      }
    }),
  );
  return hashes[present.indexOf(false)];
}

const invalid = (message: string, details: Record<string, unknown>): never => {
  throw new CatalogError(CATALOG_ERRORS.INVALID_INPUT, message, details);
};

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === "object" && x !== null && !Array.isArray(x);

function isParts(x: unknown): x is CacheKeyParts {
  return isObject(x) && typeof x.task === "string" && typeof x.version === "string" && typeof x.interfaceHash === "string" && isObject(x.inputHashes);
}

function isEntry(x: unknown): x is CatalogEntry {
  return (
    isObject(x) &&
    isParts(x.parts) &&
    isObject(x.outputs) &&
    Object.values(x.outputs).every((l) => isObject(l) && typeof l.kind === "string") &&
    typeof x.createdAt === "string" &&
    isObject(x.producedBy) &&
    typeof x.producedBy.execution === "string" &&
    typeof x.producedBy.node === "string"
  );
}

/** Project and domain are names, so they cannot smuggle a separator into a key. */
export function checkScope(scope: CatalogScope): void {
  if (!isObject(scope)) invalid(`scope: expected { project, domain }, got ${JSON.stringify(scope)}`, { field: "scope" });
  for (const field of ["project", "domain"] as const) {
    const v = scope[field];
    if (typeof v !== "string" || !NAME_PATTERN.test(v)) invalid(`scope.${field}: ${JSON.stringify(v)} is not a name (${NAME_PATTERN.source})`, { field: `scope.${field}` });
  }
}

function checkText(field: string, v: unknown): void {
  if (typeof v !== "string" || v.length === 0 || v.length > MAX_CATALOG_KEY_LENGTH) {
    invalid(`${field}: expected a string of 1 to ${MAX_CATALOG_KEY_LENGTH} characters, got ${JSON.stringify(typeof v === "string" ? `${v.slice(0, 40)}…` : v)}`, { field });
  }
}

function checkCacheKey(key: CacheKey): void {
  if (!isObject(key)) return invalid("key: expected a CacheKey from computeCacheKey", { field: "key" });
  checkText("key.key", key.key);
  if (!isParts(key.parts)) invalid("key.parts: expected { task, version, interfaceHash, inputHashes } from computeCacheKey", { field: "key.parts" });
}

function checkEntry(key: CacheKey, entry: CatalogEntry): void {
  if (!isEntry(entry)) {
    invalid("entry: expected { parts, outputs (a LiteralMap), createdAt, producedBy: { execution, node } }", { field: "entry" });
  }
  if (stableStringify(entry.parts) !== stableStringify(key.parts)) {
    invalid(`entry.parts do not match the key's parts (task ${key.parts.task}); an entry is stored only under its own key`, { field: "entry.parts" });
  }
  if (!Number.isFinite(Date.parse(entry.createdAt))) invalid(`entry.createdAt: ${JSON.stringify(entry.createdAt)} is not an ISO-8601 time`, { field: "entry.createdAt" });
}

function checkReservation(scope: CatalogScope, key: string, owner: string, ttlMs: number): void {
  checkScope(scope);
  checkText("key", key);
  checkText("owner", owner);
  if (!Number.isSafeInteger(ttlMs) || ttlMs <= 0) invalid(`ttlMs: ${JSON.stringify(ttlMs)} is not a positive whole number of milliseconds`, { field: "ttlMs" });
}
