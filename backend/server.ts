/**
 * Starting the backend: compile the configuration, open the metadata and blob
 * stores it names, make sure the admin token exists, and serve the API.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { serve, type ServerType } from "@hono/node-server";
import type { Hono } from "hono";
import { createApi, type ApiDeps, type ApiSettings } from "./api/index.js";
import { createConsole } from "./console/index.js";
import { openCatalog, type Catalog } from "./catalog/index.js";
import { createEngine, type Engine } from "./engine/index.js";
import { createScheduler, type Scheduler } from "./scheduler/index.js";
import { createKubernetesPodRunner, createLocalProcessRunner, type TaskRunner } from "./plugins/index.js";
import { createFileBlobStore, createS3BlobStore, type BlobStore } from "./blobs/index.js";
import { systemClock, type Clock } from "./clock.js";
import { ADMIN_TOKEN_FILE, ConfigError, compileServerOptions, type BlobsConfig, type DbConfig, type ServerConfig, type ServerOptions } from "./config.js";
import { createPostgresStore, createSqliteStore, type MetadataStore } from "./store/index.js";

/** A running backend. */
export interface RunningServer {
  /** `http://host:port`, the API under `/api/v1`. */
  url: string;
  /** The bootstrap admin token. */
  adminToken: string;
  config: ServerConfig;
  store: MetadataStore;
  blobs: BlobStore;
  app: Hono;
  /** What the API runs on. */
  deps: ApiDeps;
  /** The execution engine (absent with runner `none`). */
  engine?: Engine;
  /** The scheduler of launch plans (absent with runner `none` or `--no-scheduler`). */
  scheduler?: Scheduler;
  /** Stops listening, then closes the stores. */
  close(): Promise<void>;
}

/** Opens the metadata store a config names. */
export async function openMetadataStore(db: DbConfig, clock: Clock = systemClock): Promise<MetadataStore> {
  return db.kind === "sqlite"
    ? createSqliteStore({ path: db.path, clock })
    : createPostgresStore({ url: db.url, clock, ...(db.schema !== undefined ? { schema: db.schema } : {}) });
}

/** Opens the blob store a config names. */
export function openBlobStore(blobs: BlobsConfig): BlobStore {
  return blobs.kind === "fs"
    ? createFileBlobStore({ root: blobs.root })
    : createS3BlobStore({
        bucket: blobs.bucket,
        prefix: blobs.prefix,
        forcePathStyle: blobs.forcePathStyle,
        ...(blobs.endpoint ? { endpoint: blobs.endpoint } : {}),
        ...(blobs.region ? { region: blobs.region } : {}),
      });
}

/** The API settings of a config. */
export function apiSettings(config: ServerConfig): ApiSettings {
  return {
    domains: config.domains,
    maxJsonBytes: config.maxJsonBytes,
    maxBlobBytes: config.maxBlobBytes,
    inlineLiteralBytes: config.inlineLiteralBytes,
    insecureLocal: config.insecureLocal,
  };
}

/**
 * The admin token: given in the config, else read from `<dataDir>/admin-token`,
 * else generated and written there (mode 0600) on first start. It is registered
 * in the store, and any earlier bootstrap admin token is revoked.
 */
export async function ensureAdminToken(config: ServerConfig, store: MetadataStore): Promise<string> {
  const file = join(config.dataDir, ADMIN_TOKEN_FILE);
  let token = config.adminToken;
  if (token === undefined) {
    try {
      token = readFileSync(file, "utf8").trim();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    }
  }
  if (token === undefined || token === "") {
    token = `petrel_admin_${randomBytes(32).toString("base64url")}`;
    writeFileSync(file, `${token}\n`, { mode: 0o600 });
  }
  const { record } = await store.createToken({ name: "admin", kind: "admin", secret: token, createdBy: "petrel server" });
  if (record.kind !== "admin" || record.revokedAt !== undefined) {
    throw new ConfigError("CONFIG_INVALID", `adminToken: this token was revoked or is not an admin token; remove ${file} (or PETREL_ADMIN_TOKEN) to generate a new one`, {
      field: "adminToken",
    });
  }
  await store.revokeTokensNamed("admin", "admin", record.id);
  return token;
}

/**
 * Starts the backend and resolves once it listens.
 *
 * @example
 * ```ts
 * import { startServer } from "petrel/backend";
 * const server = await startServer({ dataDir: "/tmp/petrel", port: 0 });
 * console.log(server.url, server.adminToken);
 * await server.close();
 * ```
 */
export async function startServer(options: ServerOptions = {}): Promise<RunningServer> {
  const config = compileServerOptions(options);
  const clock = options.clock ?? systemClock;
  mkdirSync(config.dataDir, { recursive: true });
  const store = await openMetadataStore(config.db, clock);
  let blobs: BlobStore | undefined;
  let catalog: Catalog | undefined;
  let engine: Engine | undefined;
  let scheduler: Scheduler | undefined;
  try {
    blobs = openBlobStore(config.blobs);
    const adminToken = await ensureAdminToken(config, store);
    const deps: ApiDeps = { store, blobs, clock, settings: apiSettings(config) };
    const app = createApi(deps);
    app.route("/", createConsole({ deps, api: app }));
    const { server, port } = await listen(app, config.host, config.port);
    const host = config.host.includes(":") ? `[${config.host}]` : config.host;
    const url = `http://${host}:${port}`;
    if (config.runner.kind !== "none") {
      catalog = await openCatalog(config.catalog, { clock, blobs });
      const runner = createRunner(config);
      const endpoint = config.advertiseUrl ?? url;
      engine = createEngine({ deps, runner, catalog, endpoint: () => endpoint });
      deps.engine = engine;
      await engine.start();
      if (config.scheduler) {
        scheduler = createScheduler({ deps, clock });
        scheduler.start();
      }
    }
    const openBlobs = blobs;
    const openCatalogStore = catalog;
    const openEngine = engine;
    const openScheduler = scheduler;
    return {
      url,
      adminToken,
      config,
      store,
      blobs,
      app,
      deps,
      ...(engine ? { engine } : {}),
      ...(scheduler ? { scheduler } : {}),
      async close() {
        await closeServer(server);
        await openScheduler?.stop();
        await openEngine?.close();
        await openCatalogStore?.close();
        await store.close();
        await openBlobs.close();
      },
    };
  } catch (error) {
    await scheduler?.stop();
    await engine?.close();
    await catalog?.close();
    await store.close();
    await blobs?.close();
    throw error;
  }
}

/** The task runner a config selects (not `none`). */
export function createRunner(config: ServerConfig): TaskRunner {
  const logDir = join(config.dataDir, "logs");
  const { runner } = config;
  if (runner.kind === "kubernetes") {
    return createKubernetesPodRunner({
      namespace: runner.namespace,
      ...(runner.kubeconfig !== undefined ? { kubeConfig: runner.kubeconfig } : {}),
      ...(runner.image !== undefined ? { image: runner.image } : {}),
      // Pod logs are saved here before their pods are deleted.
      logDir: join(logDir, "kubernetes"),
    });
  }
  return createLocalProcessRunner({
    logDir,
    ...(runner.kind === "warm" && config.blobs.kind === "fs" ? { warm: { workers: runner.workers, blobRoot: config.blobs.root } } : {}),
  });
}

/** Serves `app` on host:port (0: a free port) and resolves with the bound port. */
export function listen(app: Hono, hostname: string, port: number): Promise<{ server: ServerType; port: number }> {
  return new Promise((resolvePromise, reject) => {
    const server = serve({ fetch: app.fetch, hostname, port }, (info: AddressInfo) => resolvePromise({ server, port: info.port }));
    server.once("error", reject);
  });
}

/** Closes a server, dropping idle keep-alive connections so it does not wait for clients to hang up. */
export function closeServer(server: ServerType): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    server.close((error) => (error ? reject(error) : resolvePromise()));
    (server as { closeIdleConnections?: () => void }).closeIdleConnections?.();
  });
}
