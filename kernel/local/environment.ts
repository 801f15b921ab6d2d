/**
 * Local run options, compiled once into a complete LocalEnvironment. The cache and
 * blob store live under a project-local directory (`.petrel/` beside the working
 * directory, or PETREL_HOME), shared by every run and process that points there.
 */
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type * as KeyvModule from "keyv";
import { createFsBlobStore, createMemoryBlobStore, createTypeEngine, lazyModule, type BlobAccess, type TypeEngine } from "../types/index.js";
import { LocalCache } from "./cache.js";
import type { LocalEntities, LocalEnvironment } from "./engine.js";
import type { RunEvent } from "./records.js";
import { createSqliteStore } from "./sqlite-store.js";

/** Most task attempts running at once in one local run. */
export const DEFAULT_MAX_PARALLELISM = 64;
/** First retry waits this long; each further retry doubles it. */
export const DEFAULT_RETRY_BACKOFF_MS = 100;
/** Retry waits never exceed this. */
export const DEFAULT_MAX_RETRY_BACKOFF_MS = 10_000;
/** Infrastructure failures (a blob that cannot be read) get their own retry budget. */
export const DEFAULT_SYSTEM_RETRIES = 3;

/** Options of a local run; all optional. */
export interface LocalRunOptions {
  /** Use the cache (default true). Tasks must also declare `cache: true`. */
  cache?: boolean;
  /** Recompute cacheable tasks and replace their cache entries. */
  overwriteCache?: boolean;
  /** Most task attempts at once (default 64). */
  maxParallelism?: number;
  /** Where the cache and blobs live (default `$PETREL_HOME` or `./.petrel`). */
  cacheDir?: string;
  /** Backoff of the first retry in ms (default 100), doubling per retry. */
  retryBackoffMs?: number;
  /** Progress events: node started, finished, attempt failed. */
  onEvent?: (event: RunEvent) => void;
  /** Cancels the run: running attempts see `ctx.signal` aborted, nothing new starts. */
  signal?: AbortSignal;
  /** A run id (default: a random UUID). */
  runId?: string;
  /** A type engine with extra converters. */
  typeEngine?: TypeEngine;
}

interface Store {
  cache: LocalCache;
  blobs: BlobAccess;
}

const stores = new Map<string, Store>();
let defaultEngine: TypeEngine | undefined;

/** The cache directory options point at. */
export function resolveCacheDir(options: LocalRunOptions): string {
  return resolve(options.cacheDir ?? process.env.PETREL_HOME ?? join(process.cwd(), ".petrel"));
}

/** keyv, loaded when a cache is first opened. */
const keyv = lazyModule<typeof KeyvModule>("keyv");

/** Opens (once per directory) the cache and blob store under `dir`. */
export function openLocalStore(dir: string): Store {
  let store = stores.get(dir);
  if (!store) {
    const entries = new (keyv().Keyv)({ store: createSqliteStore({ path: join(dir, "cache.sqlite") }), namespace: "petrel" });
    store = { cache: new LocalCache(entries), blobs: createFsBlobStore(join(dir, "blobs")) };
    stores.set(dir, store);
  }
  return store;
}

/** Compiles options into the environment the engine runs with. */
export function compileLocalOptions(options: LocalRunOptions, entities: LocalEntities): LocalEnvironment {
  const useCache = options.cache ?? true;
  const store = useCache ? openLocalStore(resolveCacheDir(options)) : undefined;
  const maxParallelism = options.maxParallelism ?? DEFAULT_MAX_PARALLELISM;
  if (!Number.isInteger(maxParallelism) || maxParallelism < 1) {
    throw new RangeError(`maxParallelism must be a positive integer, got ${maxParallelism}`);
  }
  return {
    entities,
    engine: options.typeEngine ?? (defaultEngine ??= createTypeEngine()),
    blobs: store?.blobs ?? createMemoryBlobStore(join(tmpdir(), "petrel-work")),
    ...(store ? { cache: store.cache } : {}),
    overwriteCache: options.overwriteCache ?? false,
    maxParallelism,
    retryBackoffMs: options.retryBackoffMs ?? DEFAULT_RETRY_BACKOFF_MS,
    maxRetryBackoffMs: DEFAULT_MAX_RETRY_BACKOFF_MS,
    systemRetries: DEFAULT_SYSTEM_RETRIES,
    ...(options.onEvent ? { onEvent: options.onEvent } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  };
}
