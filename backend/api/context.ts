/** What every route handler works with: the stores, the clock, the settings and the caller. */
import type { Context } from "hono";
import type { BlobStore } from "../blobs/index.js";
import type { Clock } from "../clock.js";
import type { Grant, MetadataStore, NodeScope } from "../store/index.js";

/** Limits and choices the API enforces. */
export interface ApiSettings {
  /** Domains every project has, in promotion order. */
  domains: readonly string[];
  /** Largest JSON request body, in bytes. */
  maxJsonBytes: number;
  /** Largest blob upload, in bytes. */
  maxBlobBytes: number;
  /** Literal maps up to this many bytes of JSON are stored inline; larger ones go to the blob store. */
  inlineLiteralBytes: number;
  /** Every request acts as the admin, without a token. Only for a server bound to loopback. */
  insecureLocal: boolean;
}

/** The services behind the API. */
export interface ApiDeps {
  store: MetadataStore;
  blobs: BlobStore;
  clock: Clock;
  settings: ApiSettings;
  /** Where unexpected errors are reported (default: console.error). */
  onError?: (error: unknown, request: Request) => void;
}

/** Who is calling. */
export interface Principal {
  kind: "admin" | "user" | "node" | "anonymous";
  name: string;
  tokenId?: string;
  grants: readonly Grant[];
  scope?: NodeScope;
}

/** In-memory knowledge of one app instance. */
export interface ApiCaches {
  /** Projects known to exist. Projects are never deleted, so a name once seen stays valid. */
  projects: Set<string>;
}

/** The per-request context a route's authorize and handle steps receive. */
export interface RouteContext {
  c: Context;
  deps: ApiDeps;
  caches: ApiCaches;
  principal: Principal;
  /** Path parameters, already checked against their patterns. */
  params: Record<string, string>;
  query: URLSearchParams;
  /** The validated JSON body (routes with a body schema), else undefined. */
  body: unknown;
}
