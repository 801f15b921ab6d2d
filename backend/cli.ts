/**
 * `petrel server`: the backend's command. Exported as a commander command so
 * the `petrel` CLI can mount it; runnable on its own as
 * `node dist/backend/cli.js server [options]` until then.
 */
import { realpathSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { Command, Option } from "commander";
import { isPetrelError } from "../kernel/index.js";
import { redact } from "./store/postgres.js";
import { startServer, type RunningServer } from "./server.js";
import type { ServerOptions } from "./config.js";

/** Flags of `petrel server`, as commander parses them. */
interface ServerFlags {
  dataDir?: string;
  db?: string;
  dbSchema?: string;
  blobs?: string;
  host?: string;
  port?: string;
  domains?: string;
  maxBlobBytes?: string;
  maxJsonBytes?: string;
  inlineLiteralBytes?: string;
  insecureLocal?: boolean;
  config?: string;
  catalog?: string;
  runner?: string;
  kubeconfig?: string;
  k8sNamespace?: string;
  k8sImage?: string;
  advertiseUrl?: string;
  /** commander's `--no-scheduler`: false when given. */
  scheduler?: boolean;
}

/** Options from flags; unset flags stay undefined so env, file and defaults apply. */
export function serverOptionsFromFlags(flags: ServerFlags): ServerOptions {
  const o: ServerOptions = {};
  if (flags.dataDir !== undefined) o.dataDir = flags.dataDir;
  if (flags.db !== undefined) o.db = flags.db;
  if (flags.dbSchema !== undefined) o.dbSchema = flags.dbSchema;
  if (flags.blobs !== undefined) o.blobs = flags.blobs;
  if (flags.catalog !== undefined) o.catalog = flags.catalog;
  if (flags.runner !== undefined) o.runner = flags.runner;
  if (flags.kubeconfig !== undefined) o.kubeconfig = flags.kubeconfig;
  if (flags.k8sNamespace !== undefined) o.k8sNamespace = flags.k8sNamespace;
  if (flags.k8sImage !== undefined) o.k8sImage = flags.k8sImage;
  if (flags.advertiseUrl !== undefined) o.advertiseUrl = flags.advertiseUrl;
  if (flags.scheduler === false) o.scheduler = false;
  if (flags.host !== undefined) o.host = flags.host;
  if (flags.port !== undefined) o.port = flags.port;
  if (flags.domains !== undefined) o.domains = flags.domains;
  if (flags.maxBlobBytes !== undefined) o.maxBlobBytes = flags.maxBlobBytes;
  if (flags.maxJsonBytes !== undefined) o.maxJsonBytes = flags.maxJsonBytes;
  if (flags.inlineLiteralBytes !== undefined) o.inlineLiteralBytes = flags.inlineLiteralBytes;
  if (flags.insecureLocal) o.insecureLocal = true;
  if (flags.config !== undefined) o.configFile = flags.config;
  return o;
}

/** What `petrel server` prints once it listens. */
export function describeServer(s: RunningServer): string {
  const { config } = s;
  const db = config.db.kind === "sqlite" ? `sqlite ${config.db.path}` : `postgres ${redact(config.db.url)}${config.db.schema ? ` (schema ${config.db.schema})` : ""}`;
  const blobs = config.blobs.kind === "fs" ? `fs ${config.blobs.root}` : `s3://${config.blobs.bucket}/${config.blobs.prefix}${config.blobs.endpoint ? ` at ${config.blobs.endpoint}` : ""}`;
  return [
    `petrel server listening on ${s.url}`,
    `  api:         ${s.url}/api/v1 (OpenAPI: ${s.url}/api/v1/openapi.json)`,
    `  admin token: ${s.adminToken}`,
    `  data dir:    ${config.dataDir}`,
    `  metadata:    ${db}`,
    `  blobs:       ${blobs}`,
    `  catalog:     ${config.catalog.kind === "sqlite" ? `sqlite ${config.catalog.path}` : `${config.catalog.kind} ${redact(config.catalog.url)}`}`,
    `  runner:      ${describeRunner(config)}`,
    `  scheduler:   ${config.runner.kind === "none" ? "off (no runner)" : config.scheduler ? "on" : "off (--no-scheduler)"}`,
    `  console:     ${s.url}/`,
    `  domains:     ${config.domains.join(", ")}`,
    ...(config.insecureLocal ? ["  WARNING: --insecure-local: no authentication, every request acts as the admin"] : []),
  ].join("\n");
}

function describeRunner(config: RunningServer["config"]): string {
  const { runner } = config;
  switch (runner.kind) {
    case "warm":
      return `warm workers (${runner.workers})`;
    case "process":
      return "a local process per attempt";
    case "kubernetes":
      return `a Kubernetes pod per attempt (namespace ${runner.namespace}${runner.image ? `, image ${runner.image}` : ""}${config.advertiseUrl ? `, pods reach ${config.advertiseUrl}` : ""})`;
    case "none":
      return "none (executions stay queued)";
  }
}

/**
 * The `server` command.
 *
 * @example
 * ```ts
 * import { Command } from "commander";
 * import { serverCommand } from "petrel/backend";
 * new Command("petrel").addCommand(serverCommand()).parseAsync(process.argv);
 * ```
 */
export function serverCommand(): Command {
  return new Command("server")
    .description("Start the Petrel backend (SQLite and local blobs under the data dir by default).")
    .option("--data-dir <dir>", "where the SQLite database, blobs and admin token live (env PETREL_DATA_DIR)")
    .option("--db <url>", "sqlite (default), sqlite:<path>, or postgres://user@host:port/db (env PETREL_DB)")
    .option("--db-schema <schema>", "PostgreSQL schema for the tables (env PETREL_DB_SCHEMA)")
    .option("--blobs <url>", "fs (default), file:<dir>, or s3://bucket/prefix with AWS_* variables (env PETREL_BLOBS)")
    .option("--catalog <url>", "the shared cache: sqlite (default), sqlite:<path>, postgres://...?schema=s, redis://...?prefix=p (env PETREL_CATALOG_URL)")
    .option("--runner <kind>", "where tasks run: process (default), warm, warm:<workers>, kubernetes, none (env PETREL_RUNNER)")
    .option("--kubeconfig <file>", "runner kubernetes: the kubeconfig (default: in-cluster, else ~/.kube/config; env PETREL_KUBECONFIG)")
    .option("--k8s-namespace <template>", "runner kubernetes: namespace of task pods, {project} and {domain} substituted (env PETREL_K8S_NAMESPACE)")
    .option("--k8s-image <image>", "runner kubernetes: the default runtime image (env PETREL_K8S_IMAGE)")
    .option("--advertise-url <url>", "the URL task runtimes reach this server at, e.g. http://petrel.petrel.svc:8470 (env PETREL_ADVERTISE_URL)")
    .option("--no-scheduler", "do not fire scheduled launch plans (env PETREL_SCHEDULER=0)")
    .option("--host <host>", "address to listen on (default 127.0.0.1; env PETREL_HOST)")
    .option("--port <port>", "port (default 8470, 0 for any free port; env PETREL_PORT)")
    .option("--domains <list>", "comma-separated domains (default development,staging,production)")
    .option("--max-blob-bytes <size>", "largest upload, e.g. 10Gi")
    .option("--max-json-bytes <size>", "largest JSON body, e.g. 16Mi")
    .option("--inline-literal-bytes <size>", "literal maps larger than this are stored as blobs")
    .option("--config <file>", "JSON config file (env PETREL_CONFIG); flags and env override it")
    .addOption(new Option("--insecure-local", "no authentication (loopback hosts only)"))
    .action(async (flags: ServerFlags) => {
      let server: RunningServer;
      try {
        server = await startServer(serverOptionsFromFlags(flags));
      } catch (error) {
        console.error(`petrel server: ${isPetrelError(error) || error instanceof Error ? error.message : String(error)}`);
        process.exitCode = 1;
        return;
      }
      console.log(describeServer(server));
      let closing = false;
      const stop = (signal: string) => {
        if (closing) return;
        closing = true;
        console.log(`petrel server: ${signal}, shutting down`);
        server.close().then(
          () => process.exit(0),
          (error: unknown) => {
            console.error(error);
            process.exit(1);
          },
        );
      };
      process.once("SIGINT", () => stop("SIGINT"));
      process.once("SIGTERM", () => stop("SIGTERM"));
    });
}

/** A `petrel` program with the backend's commands (until the kernel's CLI mounts them). */
export function createBackendCli(): Command {
  return new Command("petrel").description("Petrel backend").addCommand(serverCommand());
}

function isMain(): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return import.meta.url === pathToFileURL(realpathSync(entry)).href;
  } catch {
    return false;
  }
}

// No top-level await: the package's CommonJS consumers require() this module graph.
if (isMain()) {
  createBackendCli()
    .parseAsync(process.argv)
    .catch((error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    });
}
