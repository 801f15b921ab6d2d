/**
 * The catalog's contract: cached task results shared by everyone in a project
 * and domain, keyed exactly as the local engine keys them (computeCacheKey), plus
 * reservations so that one execution computes a key while the others wait.
 */
import { errorGuard, PetrelError, type CacheKey, type CacheKeyParts, type LiteralMap } from "../../kernel/index.js";
import type { BlobStore } from "../blobs/index.js";
import type { Clock } from "../clock.js";

/** Where the catalog keeps its entries and reservations. */
export type CatalogConfig =
  | { kind: "sqlite"; path: string }
  | { kind: "postgres"; url: string; schema?: string }
  | { kind: "redis"; url: string; prefix?: string };

/** Options of {@link openCatalog} beyond where the data lives. */
export interface CatalogOptions {
  /** Decides when a SQLite or PostgreSQL reservation expires (default the wall clock). Redis expires keys itself. */
  clock?: Clock;
  /** The backend's blob store: what {@link Catalog.acquire} checks a HIT against when its call names none. */
  blobs?: BlobStore;
}

/** The cache is shared within one project and domain and never across them. */
export interface CatalogScope {
  project: string;
  domain: string;
}

/** One cached result: what the kernel's CacheEntry holds, produced by a backend execution's node. */
export interface CatalogEntry {
  parts: CacheKeyParts;
  outputs: LiteralMap;
  /** ISO-8601. */
  createdAt: string;
  producedBy: { execution: string; node: string };
}

/** The outcome of a lookup; both outcomes say why, for the node's cache reason. */
export type CatalogLookup = { status: "HIT"; entry: CatalogEntry; reason: string } | { status: "MISS"; reason: string };

/** The outcome of a reservation attempt: acquired, or who holds it and until when (epoch ms). */
export type ReserveResult = { acquired: true } | { acquired: false; owner: string; expiresAt: number };

/** Options of {@link awaitReservation} and {@link Catalog.acquire}. */
export interface AwaitReservationOptions {
  /** Where the entry's blobs must be for a HIT (for `acquire`, default the blob store given to openCatalog). */
  blobs: BlobStore;
  /** The reservation's lifetime once this owner gets it; keep it alive with `catalog.heartbeat`. */
  ttlMs: number;
  /** Time between checks (default {@link DEFAULT_RESERVATION_POLL_MS}). */
  pollMs?: number;
  /** Stops waiting: the call rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** Either another owner's result, or the reservation (and the reason the key missed). */
export type AwaitReservationResult = { status: "HIT"; entry: CatalogEntry; reason: string } | { status: "reserved"; reason: string };

/** How often a waiting execution checks again, when not told. */
export const DEFAULT_RESERVATION_POLL_MS = 250;

/**
 * The shared cache of one backend. Every instance opened on the same database
 * (or Redis) sees the same entries and the same reservations, across processes.
 */
export interface Catalog {
  readonly kind: CatalogConfig["kind"];
  /**
   * Looks a key up. HIT only when the entry exists and every blob its outputs
   * refer to is still in `blobs`; otherwise MISS with a reason (the missing blob,
   * or what changed since the task's latest entry, as {@link explainMiss} says).
   */
  lookup(scope: CatalogScope, key: CacheKey, blobs: BlobStore): Promise<CatalogLookup>;
  /** Stores (or replaces: overwrite-cache) the entry for a key and records it as the task's latest. */
  store(scope: CatalogScope, key: CacheKey, entry: CatalogEntry): Promise<void>;
  /**
   * Takes the reservation of `key` for `ttlMs`, atomically across processes and
   * backend instances. The current owner reserving again extends it; an expired
   * reservation is anyone's.
   */
  reserve(scope: CatalogScope, key: string, owner: string, ttlMs: number): Promise<ReserveResult>;
  /** Extends the owner's reservation by `ttlMs` from now; false when it expired or another owner holds it. */
  heartbeat(scope: CatalogScope, key: string, owner: string, ttlMs: number): Promise<boolean>;
  /**
   * One computation per key: {@link awaitReservation} on this catalog. Resolves
   * with HIT once an entry for the key is stored, or `reserved` once `owner`
   * holds the reservation and there is still no entry.
   */
  acquire(scope: CatalogScope, key: CacheKey, owner: string, options: Omit<AwaitReservationOptions, "blobs"> & { blobs?: BlobStore }): Promise<AwaitReservationResult>;
  /** Drops the reservation if `owner` holds it; anyone else's release does nothing. */
  release(scope: CatalogScope, key: string, owner: string): Promise<void>;
  /** Closes connections; idempotent. */
  close(): Promise<void>;
}

/** The catalog refused an input or could not reach its store. */
export class CatalogError extends PetrelError {
  override name = "CatalogError";
}
/** Guard for CatalogError across realms. */
export const isCatalogError = errorGuard<CatalogError>("CatalogError");

/** Stable codes of {@link CatalogError}. */
export const CATALOG_ERRORS = {
  /** A configuration value (URL, schema, prefix, path) is invalid. */
  CONFIG: "CATALOG_CONFIG",
  /** A scope, key, owner, ttl or entry is malformed; nothing was stored. */
  INVALID_INPUT: "CATALOG_INVALID_INPUT",
  /** The database or Redis failed; a caller may treat the node as a MISS and run it. */
  UNAVAILABLE: "CATALOG_UNAVAILABLE",
  /** The catalog was closed. */
  CLOSED: "CATALOG_CLOSED",
} as const;

/** PostgreSQL schemas the catalog accepts: lowercase identifiers (@keyv/postgres puts the schema into SQL unquoted). */
export const CATALOG_SCHEMA_PATTERN = /^[a-z_][a-z0-9_]{0,62}$/;
/** Redis key prefixes the catalog accepts: printable, without glob characters, so `SCAN MATCH <prefix>:*` finds exactly its keys. */
export const CATALOG_PREFIX_PATTERN = /^[A-Za-z0-9_.:/-]{1,128}$/;

/** Longest reservation key or owner accepted: cache keys are 71 characters; owners are ids. */
export const MAX_CATALOG_KEY_LENGTH = 512;
