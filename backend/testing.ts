/**
 * A whole backend in-process for tests — Petrel's own and users' — on embedded
 * defaults: SQLite in a temp directory, filesystem blobs, a manual clock, an
 * admin token, and helpers to make projects and tokens. Requests go straight to
 * the Hono app (no socket) unless `listen: true` asks for one.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ServerType } from "@hono/node-server";
import type { Hono } from "hono";
import { DEFAULT_DOMAINS } from "../kernel/index.js";
import { API_PREFIX, createApi, type ApiDeps, type ApiSettings } from "./api/index.js";
import { createFileBlobStore, type BlobStore } from "./blobs/index.js";
import { createConsole } from "./console/index.js";
import { createManualClock, type ManualClock } from "./clock.js";
import { DEFAULT_INLINE_LITERAL_BYTES, DEFAULT_MAX_BLOB_BYTES, DEFAULT_MAX_JSON_BYTES } from "./config.js";
import { closeServer, listen } from "./server.js";
import { createSqliteStore, type Grant, type MetadataStore } from "./store/index.js";

/** Options of {@link createTestBackend}. */
export interface TestBackendOptions {
  /** Start time of the manual clock (epoch ms or ISO), or a clock to share. */
  clock?: number | string | ManualClock;
  domains?: string[];
  maxBlobBytes?: number;
  maxJsonBytes?: number;
  inlineLiteralBytes?: number;
  /** The shortest fixed-rate schedule registration accepts (default: the API's, one minute). */
  minScheduleRateMs?: number;
  /** Also serve on 127.0.0.1 (a free port), for clients that need a URL. */
  listen?: boolean;
  /** Use this store instead of a temp SQLite file (e.g. PostgreSQL); it is closed with the backend. */
  store?: MetadataStore;
  /** Use this blob store instead of a temp directory; it is closed with the backend. */
  blobs?: BlobStore;
}

/** Request options of the test client: a token (default: the admin's; null for none) and a JSON body. */
export interface TestRequestInit extends Omit<RequestInit, "body"> {
  token?: string | null;
  json?: unknown;
  body?: RequestInit["body"];
}

/** A backend running in this process. */
export interface TestBackend {
  app: Hono;
  store: MetadataStore;
  blobs: BlobStore;
  clock: ManualClock;
  adminToken: string;
  settings: ApiSettings;
  /** What the API runs on; set `deps.engine` to have executions run. */
  deps: ApiDeps;
  /** The temp directory holding the database and blobs (removed on close). */
  dir: string;
  /** The socket URL when started with `listen: true`. */
  url?: string;
  /**
   * Sends a request to the app; paths without `/api/` are taken as under /api/v1.
   *
   * @example
   * ```ts
   * await backend.request("/projects", { method: "POST", json: { name: "demo" } });
   * ```
   */
  request(path: string, init?: TestRequestInit): Promise<Response>;
  /** Creates a project as the admin. */
  createProject(name: string): Promise<void>;
  /** Creates a user token with these grants and returns its secret. */
  createToken(grants: Grant[], name?: string): Promise<string>;
  close(): Promise<void>;
}

/**
 * Starts a backend in-process.
 *
 * @example
 * ```ts
 * import { createTestBackend } from "petrel/backend";
 * const backend = await createTestBackend({ clock: "2025-01-01T00:00:00Z" });
 * await backend.createProject("demo");
 * const viewer = await backend.createToken([{ project: "demo", role: "viewer" }]);
 * const res = await backend.request("/projects/demo", { token: viewer });
 * backend.clock.advance(60_000);
 * await backend.close();
 * ```
 */
export async function createTestBackend(options: TestBackendOptions = {}): Promise<TestBackend> {
  const dir = mkdtempSync(join(tmpdir(), "petrel-test-backend-"));
  const clock = typeof options.clock === "object" ? options.clock : createManualClock(options.clock);
  const store = options.store ?? (await createSqliteStore({ path: join(dir, "petrel.sqlite"), clock }));
  const blobs = options.blobs ?? createFileBlobStore({ root: join(dir, "blobs"), durable: false });
  const settings: ApiSettings = {
    domains: options.domains ?? [...DEFAULT_DOMAINS],
    maxBlobBytes: options.maxBlobBytes ?? DEFAULT_MAX_BLOB_BYTES,
    maxJsonBytes: options.maxJsonBytes ?? DEFAULT_MAX_JSON_BYTES,
    inlineLiteralBytes: options.inlineLiteralBytes ?? DEFAULT_INLINE_LITERAL_BYTES,
    insecureLocal: false,
    ...(options.minScheduleRateMs !== undefined ? { minScheduleRateMs: options.minScheduleRateMs } : {}),
  };
  const { token: adminToken } = await store.createToken({ name: "admin", kind: "admin", createdBy: "test backend" });
  const deps: ApiDeps = { store, blobs, clock, settings };
  const app = createApi(deps);
  app.route("/", createConsole({ deps, api: app }));
  let server: ServerType | undefined;
  let url: string | undefined;
  if (options.listen) {
    const bound = await listen(app, "127.0.0.1", 0);
    server = bound.server;
    url = `http://127.0.0.1:${bound.port}`;
  }

  const request = async (path: string, init: TestRequestInit = {}): Promise<Response> => {
    const { token = adminToken, json, headers, ...rest } = init;
    const h = new Headers(headers);
    if (token !== null && !h.has("authorization")) h.set("authorization", `Bearer ${token}`);
    let body = rest.body;
    if (json !== undefined) {
      body = JSON.stringify(json);
      if (!h.has("content-type")) h.set("content-type", "application/json");
    }
    const full = path.startsWith("/api/") ? path : `${API_PREFIX}${path}`;
    return app.request(full, { ...rest, headers: h, ...(body !== undefined ? { body } : {}) });
  };

  const backend: TestBackend = {
    app,
    store,
    blobs,
    clock,
    adminToken,
    settings,
    deps,
    dir,
    request,
    async createProject(name) {
      const res = await request("/projects", { method: "POST", json: { name } });
      if (res.status !== 201) throw new Error(`creating project ${name}: ${res.status} ${await res.text()}`);
    },
    async createToken(grants, name = "test user") {
      const { token } = await store.createToken({ name, kind: "user", grants, createdBy: "test backend" });
      return token;
    },
    async close() {
      if (server) await closeServer(server);
      await store.close();
      await blobs.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  if (url !== undefined) backend.url = url;
  return backend;
}
