/**
 * Server configuration, in one place: `ServerOptions` (flags, all optional) are
 * compiled once into a complete `ServerConfig`, each field taken from the first
 * of command-line flags, environment variables, a JSON config file and
 * defaults, and validated with errors that name the field and where it came from.
 *
 * | option             | flag                  | environment                 | default                         |
 * |--------------------|-----------------------|-----------------------------|---------------------------------|
 * | dataDir            | --data-dir            | PETREL_DATA_DIR             | `$PETREL_HOME/server` or `.petrel/server` |
 * | db                 | --db                  | PETREL_DB                   | `sqlite` (`<dataDir>/petrel.sqlite`) |
 * | dbSchema           | --db-schema           | PETREL_DB_SCHEMA            | the connection's search_path    |
 * | blobs              | --blobs               | PETREL_BLOBS                | `fs` (`<dataDir>/blobs`)        |
 * | catalog            | --catalog             | PETREL_CATALOG_URL          | `sqlite` (`<dataDir>/catalog.sqlite`) |
 * | runner             | --runner              | PETREL_RUNNER               | `process` (`warm[:N]`, `kubernetes`, `none`) |
 * | kubeconfig         | --kubeconfig          | PETREL_KUBECONFIG           | in-cluster, else `~/.kube/config` (runner `kubernetes`) |
 * | k8sNamespace       | --k8s-namespace       | PETREL_K8S_NAMESPACE        | `petrel-{project}-{domain}` (runner `kubernetes`) |
 * | k8sImage           | --k8s-image           | PETREL_K8S_IMAGE            | `petrel/runtime:<version>` (runner `kubernetes`) |
 * | advertiseUrl       | --advertise-url       | PETREL_ADVERTISE_URL        | the URL the server listens on   |
 * | host               | --host                | PETREL_HOST                 | 127.0.0.1                       |
 * | port               | --port                | PETREL_PORT                 | 8470 (0 picks a free port)      |
 * | domains            | --domains a,b,c       | PETREL_DOMAINS              | development,staging,production  |
 * | maxBlobBytes       | --max-blob-bytes      | PETREL_MAX_BLOB_BYTES       | 10Gi                            |
 * | maxJsonBytes       | --max-json-bytes      | PETREL_MAX_JSON_BYTES       | 16Mi                            |
 * | inlineLiteralBytes | --inline-literal-bytes| PETREL_INLINE_LITERAL_BYTES | 64Ki                            |
 * | adminToken         | (none: not on argv)   | PETREL_ADMIN_TOKEN          | `<dataDir>/admin-token`, generated on first start |
 * | insecureLocal      | --insecure-local      | PETREL_INSECURE_LOCAL=1     | false                           |
 * | scheduler          | --no-scheduler        | PETREL_SCHEDULER=0          | true (fires scheduled launch plans) |
 * | configFile         | --config              | PETREL_CONFIG               | none                            |
 *
 * `--blobs s3://bucket/prefix` takes the endpoint and credentials from the usual
 * AWS variables: AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL, AWS_REGION,
 * AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (path-style URLs when an endpoint is set).
 *
 * `--runner kubernetes` runs every attempt in its own pod (the kubernetes-pod
 * runner): in the namespace the `k8sNamespace` template names for its project and
 * domain, with the `k8sImage` runtime image unless the task names its own. Pods
 * reach the API at `advertiseUrl` (e.g. `http://petrel.petrel.svc:8470`), which
 * runners hand to runtimes instead of the listening address.
 *
 * The catalog (the shared cache) is `sqlite`, `sqlite:<path>`, a `.sqlite` file,
 * `postgres://...[?schema=name]` or `redis://...[?prefix=name]`; the `schema`
 * and `prefix` parameters are taken out of the URL before it is used.
 */
import { existsSync, readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { isAbsolute, join, resolve } from "node:path";
import { DEFAULT_DOMAINS, NAME_PATTERN, PetrelError, errorGuard } from "../kernel/index.js";
import { normalizePrefix } from "./blobs/index.js";
import { CATALOG_PREFIX_PATTERN, CATALOG_SCHEMA_PATTERN, type CatalogConfig } from "./catalog/index.js";
import type { Clock } from "./clock.js";

/** What `petrel server` accepts; every field optional. */
export interface ServerOptions {
  dataDir?: string;
  /** `sqlite` (default), a SQLite file path (`sqlite:/path/db.sqlite`), or `postgres://...`. */
  db?: string;
  /** PostgreSQL schema for the tables. */
  dbSchema?: string;
  /** `fs` (default), a directory (`file:/path`), or `s3://bucket/prefix`. */
  blobs?: string;
  /** The shared cache: `sqlite` (default), `sqlite:/path`, `postgres://...?schema=s` or `redis://...?prefix=p`. */
  catalog?: string;
  /** Where tasks run: `process` (default: a process per attempt), `warm` or `warm:<workers>` (kept-alive workers), `kubernetes` (a pod per attempt), `none` (executions stay queued). */
  runner?: string;
  /** Runner `kubernetes`: the kubeconfig file (default: in-cluster config when KUBERNETES_SERVICE_HOST is set, else `~/.kube/config`). */
  kubeconfig?: string;
  /** Runner `kubernetes`: the namespace template, `{project}` and `{domain}` substituted (default `petrel-{project}-{domain}`). */
  k8sNamespace?: string;
  /** Runner `kubernetes`: the runtime image of tasks that name none (default `petrel/runtime:<version>`). */
  k8sImage?: string;
  /** The backend's URL as runtimes (pods, processes) reach it; default: the URL it listens on. */
  advertiseUrl?: string;
  host?: string;
  port?: number | string;
  domains?: string[] | string;
  maxBlobBytes?: number | string;
  maxJsonBytes?: number | string;
  inlineLiteralBytes?: number | string;
  adminToken?: string;
  insecureLocal?: boolean | string;
  /** Fire scheduled launch plans (default true; needs a runner other than `none`). */
  scheduler?: boolean | string;
  configFile?: string;
  /** Not configurable from outside: tests pass a manual clock. */
  clock?: Clock;
}

/** The metadata store a config selects. */
export type DbConfig = { kind: "sqlite"; path: string } | { kind: "postgres"; url: string; schema?: string };
/** The blob store a config selects. */
export type BlobsConfig =
  | { kind: "fs"; root: string }
  | { kind: "s3"; bucket: string; prefix: string; endpoint?: string; region?: string; forcePathStyle: boolean };

/** The task runner a config selects. */
export type RunnerConfig =
  | { kind: "process" }
  | { kind: "warm"; workers: number }
  | { kind: "kubernetes"; kubeconfig?: string; namespace: string; image?: string }
  | { kind: "none" };

/** The namespace template of the kubernetes runner unless `k8sNamespace` names another. */
export const DEFAULT_K8S_NAMESPACE = "petrel-{project}-{domain}";

/** Where a value came from. */
export type ConfigSource = "flag" | "env" | "file" | "default";

/** The compiled configuration: complete and valid. */
export interface ServerConfig {
  dataDir: string;
  db: DbConfig;
  blobs: BlobsConfig;
  catalog: CatalogConfig;
  runner: RunnerConfig;
  /** The backend's URL for runtimes, when it differs from the listening one. */
  advertiseUrl?: string;
  host: string;
  port: number;
  domains: string[];
  maxBlobBytes: number;
  maxJsonBytes: number;
  inlineLiteralBytes: number;
  /** Given explicitly (env or file); otherwise read from or written to `<dataDir>/admin-token`. */
  adminToken?: string;
  insecureLocal: boolean;
  /** Whether this server fires scheduled launch plans. */
  scheduler: boolean;
  /** Where each value came from, for `petrel server` to print and for debugging. */
  sources: Record<string, ConfigSource>;
}

/** Defaults, as named constants. */
export const DEFAULT_HOST = "127.0.0.1";
export const DEFAULT_PORT = 8470;
export const DEFAULT_MAX_BLOB_BYTES = 10 * 1024 ** 3;
export const DEFAULT_MAX_JSON_BYTES = 16 * 1024 ** 2;
export const DEFAULT_INLINE_LITERAL_BYTES = 64 * 1024;
/** The admin token's file in the data directory (mode 0600). */
export const ADMIN_TOKEN_FILE = "admin-token";

/** A configuration value is invalid; `details.field` and `details.source` say which and from where. */
export class ConfigError extends PetrelError {
  override name = "ConfigError";
}
/** Guard for ConfigError across realms. */
export const isConfigError = errorGuard<ConfigError>("ConfigError");

const ENV: Record<Exclude<keyof ServerOptions, "clock" | "configFile">, string> = {
  dataDir: "PETREL_DATA_DIR",
  db: "PETREL_DB",
  dbSchema: "PETREL_DB_SCHEMA",
  blobs: "PETREL_BLOBS",
  catalog: "PETREL_CATALOG_URL",
  runner: "PETREL_RUNNER",
  kubeconfig: "PETREL_KUBECONFIG",
  k8sNamespace: "PETREL_K8S_NAMESPACE",
  k8sImage: "PETREL_K8S_IMAGE",
  advertiseUrl: "PETREL_ADVERTISE_URL",
  host: "PETREL_HOST",
  port: "PETREL_PORT",
  domains: "PETREL_DOMAINS",
  maxBlobBytes: "PETREL_MAX_BLOB_BYTES",
  maxJsonBytes: "PETREL_MAX_JSON_BYTES",
  inlineLiteralBytes: "PETREL_INLINE_LITERAL_BYTES",
  adminToken: "PETREL_ADMIN_TOKEN",
  insecureLocal: "PETREL_INSECURE_LOCAL",
  scheduler: "PETREL_SCHEDULER",
};
const FILE_KEYS = new Set<string>(Object.keys(ENV));

const LOOPBACK = new Set(["127.0.0.1", "::1", "localhost"]);
const UNITS: Record<string, number> = { "": 1, k: 1e3, K: 1e3, M: 1e6, G: 1e9, T: 1e12, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, Ti: 1024 ** 4 };

/** `1048576`, `"64Ki"`, `"10G"`, `"512MiB"` as bytes. */
export function parseBytes(value: number | string, field: string, source: string): number {
  const m = typeof value === "number" ? null : /^\s*([0-9]+(?:\.[0-9]+)?)\s*(k|K|M|G|T|Ki|Mi|Gi|Ti)?B?\s*$/.exec(value);
  const n = typeof value === "number" ? value : m ? Number(m[1]) * UNITS[m[2] ?? ""]! : Number.NaN;
  if (!Number.isFinite(n) || n < 0 || !Number.isSafeInteger(Math.floor(n))) {
    throw new ConfigError("CONFIG_INVALID", `${field} (${source}): ${JSON.stringify(value)} is not a byte size like 1048576, 64Ki or 10G`, { field, source });
  }
  return Math.floor(n);
}

/** The catalog a `catalog` value names; `invalid` throws the field's ConfigError. */
function compileCatalog(value: string, dataDir: string, cwd: string, invalid: (message: string) => never): CatalogConfig {
  if (value === "sqlite") return { kind: "sqlite", path: join(dataDir, "catalog.sqlite") };
  if (value.startsWith("sqlite:")) {
    const path = value.slice("sqlite:".length).replace(/^\/\/(?=\/)/, "");
    if (path === "") invalid("sqlite: needs a file path, e.g. sqlite:/var/lib/petrel/catalog.sqlite");
    return { kind: "sqlite", path: resolve(cwd, path) };
  }
  const redacted = JSON.stringify(value.replace(/\/\/([^:/@]*):[^@]*@/, "//$1:***@"));
  const postgres = /^postgres(ql)?:\/\//.test(value);
  if (postgres || /^rediss?:\/\//.test(value)) {
    // The schema or prefix rides along as a query parameter and is taken out before the driver sees the URL.
    const param = postgres ? "schema" : "prefix";
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      return invalid(`${redacted} is not a valid URL`);
    }
    const extra = url.searchParams.get(param);
    if (extra === null) return postgres ? { kind: "postgres", url: value } : { kind: "redis", url: value };
    url.searchParams.delete(param);
    const rest = url.toString();
    if (postgres) {
      if (!CATALOG_SCHEMA_PATTERN.test(extra)) invalid(`schema ${JSON.stringify(extra)} is not a lowercase identifier (${CATALOG_SCHEMA_PATTERN.source})`);
      return { kind: "postgres", url: rest, schema: extra };
    }
    if (!CATALOG_PREFIX_PATTERN.test(extra)) invalid(`prefix ${JSON.stringify(extra)} is not 1-128 of A-Z a-z 0-9 _ . : / -`);
    return { kind: "redis", url: rest, prefix: extra };
  }
  if (!/^[a-z][a-z0-9+.-]*:/i.test(value) && /\.(sqlite3?|db)$/.test(value)) return { kind: "sqlite", path: resolve(cwd, value) };
  return invalid(`${redacted} is not sqlite, sqlite:<path>, a .sqlite file, postgres://... or redis://...`);
}

/** Reads a JSON config file; unknown keys are errors naming them. */
function readConfigFile(path: string): Partial<ServerOptions> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    throw new ConfigError("CONFIG_INVALID", `config file ${path}: ${(error as Error).message}`, { field: "configFile", source: "file" });
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new ConfigError("CONFIG_INVALID", `config file ${path}: expected a JSON object`, { field: "configFile", source: "file" });
  }
  for (const key of Object.keys(parsed)) {
    if (!FILE_KEYS.has(key)) {
      throw new ConfigError("CONFIG_INVALID", `config file ${path}: unknown field ${JSON.stringify(key)} (fields: ${[...FILE_KEYS].join(", ")})`, { field: key, source: "file" });
    }
  }
  return parsed as Partial<ServerOptions>;
}

/**
 * Compiles options into a complete configuration: flags > env > file > defaults.
 *
 * @example
 * ```ts
 * const config = compileServerOptions({ port: 0 }, { PETREL_DB: "postgres://postgres@127.0.0.1/petrel" });
 * config.db;              // { kind: "postgres", url: "postgres://postgres@127.0.0.1/petrel" }
 * config.sources.db;      // "env"
 * ```
 */
export function compileServerOptions(flags: ServerOptions = {}, env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): ServerConfig {
  const configFile = flags.configFile ?? env.PETREL_CONFIG;
  const file = configFile ? readConfigFile(resolve(cwd, configFile)) : {};
  const sources: Record<string, ConfigSource> = {};
  /** The first defined value of a field, and where it came from. */
  const pick = <K extends keyof typeof ENV>(key: K): { value: ServerOptions[K] | string | undefined; source: ConfigSource } => {
    if (flags[key] !== undefined) return { value: flags[key], source: "flag" };
    const fromEnv = env[ENV[key]];
    if (fromEnv !== undefined && fromEnv !== "") return { value: fromEnv, source: "env" };
    if (file[key] !== undefined) return { value: file[key], source: "file" };
    return { value: undefined, source: "default" };
  };
  const field = <K extends keyof typeof ENV>(key: K) => {
    const p = pick(key);
    sources[key] = p.source;
    return p;
  };
  const where = (key: string) => (sources[key] === "env" ? `${ENV[key as keyof typeof ENV]}` : sources[key] === "file" ? `config file ${configFile}` : sources[key]!);
  const invalid = (key: string, message: string): never => {
    throw new ConfigError("CONFIG_INVALID", `${key} (${where(key)}): ${message}`, { field: key, source: sources[key] });
  };
  const text = (key: keyof typeof ENV, v: unknown): string | undefined => {
    if (v === undefined) return undefined;
    if (typeof v !== "string" || v === "") return invalid(key, `expected a non-empty string, got ${JSON.stringify(v)}`);
    return v;
  };

  const dataDirValue = text("dataDir", field("dataDir").value);
  const dataDir = resolve(cwd, dataDirValue ?? join(env.PETREL_HOME ?? ".petrel", "server"));

  const dbValue = text("db", field("db").value) ?? "sqlite";
  const dbSchema = text("dbSchema", field("dbSchema").value);
  let db: DbConfig;
  if (/^postgres(ql)?:\/\//.test(dbValue)) {
    db = dbSchema !== undefined ? { kind: "postgres", url: dbValue, schema: dbSchema } : { kind: "postgres", url: dbValue };
  } else if (dbValue === "sqlite") {
    db = { kind: "sqlite", path: join(dataDir, "petrel.sqlite") };
  } else if (dbValue.startsWith("sqlite:")) {
    const path = dbValue.slice("sqlite:".length).replace(/^\/\/(?=\/)/, "");
    if (path === "") invalid("db", "sqlite: needs a file path, e.g. sqlite:/var/lib/petrel/petrel.sqlite");
    db = { kind: "sqlite", path: resolve(cwd, path) };
  } else if (/\.(sqlite3?|db)$/.test(dbValue)) {
    db = { kind: "sqlite", path: resolve(cwd, dbValue) };
  } else {
    return invalid("db", `${JSON.stringify(dbValue.replace(/\/\/([^:/@]+):[^@]*@/, "//$1:***@"))} is not sqlite, sqlite:<path>, a .sqlite file or postgres://...`);
  }
  if (dbSchema !== undefined && db.kind !== "postgres") invalid("dbSchema", "only applies to a postgres:// database");

  const blobsValue = text("blobs", field("blobs").value) ?? "fs";
  let blobs: BlobsConfig;
  if (blobsValue === "fs") {
    blobs = { kind: "fs", root: join(dataDir, "blobs") };
  } else if (blobsValue.startsWith("s3://")) {
    const m = /^s3:\/\/([^/]+)(?:\/(.*))?$/.exec(blobsValue);
    if (!m) return invalid("blobs", `expected s3://bucket/prefix, got ${JSON.stringify(blobsValue)}`);
    let prefix: string;
    try {
      prefix = normalizePrefix(m[2]);
    } catch (error) {
      return invalid("blobs", (error as Error).message);
    }
    const endpoint = env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL;
    const region = env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
    blobs = { kind: "s3", bucket: m[1]!, prefix, forcePathStyle: endpoint !== undefined, ...(endpoint ? { endpoint } : {}), ...(region ? { region } : {}) };
  } else if (blobsValue.startsWith("file:") || isAbsolute(blobsValue) || blobsValue.startsWith(".")) {
    const path = blobsValue.startsWith("file:") ? blobsValue.slice("file:".length).replace(/^\/\/(?=\/)/, "") : blobsValue;
    blobs = { kind: "fs", root: resolve(cwd, path) };
  } else {
    return invalid("blobs", `${JSON.stringify(blobsValue)} is not fs, a directory (file:<path>) or s3://bucket/prefix`);
  }

  const catalog = compileCatalog(text("catalog", field("catalog").value) ?? "sqlite", dataDir, cwd, (message) => invalid("catalog", message));

  const runnerValue = text("runner", field("runner").value) ?? "process";
  const warm = /^warm(?::([1-9][0-9]{0,3}))?$/.exec(runnerValue);
  const kubeconfig = text("kubeconfig", field("kubeconfig").value);
  const k8sNamespace = text("k8sNamespace", field("k8sNamespace").value);
  const k8sImage = text("k8sImage", field("k8sImage").value);
  let runner: RunnerConfig;
  if (runnerValue === "process" || runnerValue === "none") runner = { kind: runnerValue };
  else if (warm) runner = { kind: "warm", workers: warm[1] ? Number(warm[1]) : Math.max(1, availableParallelism()) };
  else if (runnerValue === "kubernetes" || runnerValue === "kubernetes-pod") {
    const namespace = k8sNamespace ?? DEFAULT_K8S_NAMESPACE;
    const literal = namespace.replaceAll("{project}", "").replaceAll("{domain}", "");
    if (!/^[A-Za-z0-9-]*$/.test(literal)) {
      invalid("k8sNamespace", `${JSON.stringify(namespace)} is not a namespace template: letters, digits and - with {project} and {domain}, e.g. petrel-{project}-{domain}`);
    }
    if (k8sImage !== undefined && /\s/.test(k8sImage)) invalid("k8sImage", `${JSON.stringify(k8sImage)} is not an image reference`);
    let kubeconfigPath: string | undefined;
    if (kubeconfig !== undefined) {
      kubeconfigPath = resolve(cwd, kubeconfig);
      if (!existsSync(kubeconfigPath)) invalid("kubeconfig", `${kubeconfigPath} does not exist`);
    }
    runner = { kind: "kubernetes", namespace, ...(kubeconfigPath !== undefined ? { kubeconfig: kubeconfigPath } : {}), ...(k8sImage !== undefined ? { image: k8sImage } : {}) };
  } else return invalid("runner", `${JSON.stringify(runnerValue)} is not process, warm, warm:<workers>, kubernetes or none`);
  if (runner.kind === "warm" && blobs.kind !== "fs") invalid("runner", "warm workers read and write blobs in a filesystem blob store; with s3 blobs use the process runner");
  if (runner.kind !== "kubernetes") {
    for (const [key, value] of [["kubeconfig", kubeconfig], ["k8sNamespace", k8sNamespace], ["k8sImage", k8sImage]] as const) {
      if (value !== undefined) invalid(key, `only applies to the kubernetes runner (--runner kubernetes), not ${runnerValue}`);
    }
  }

  const advertiseUrl = text("advertiseUrl", field("advertiseUrl").value);
  if (advertiseUrl !== undefined) {
    let parsed: URL | undefined;
    try {
      parsed = new URL(advertiseUrl);
    } catch {
      parsed = undefined;
    }
    if (!parsed || (parsed.protocol !== "http:" && parsed.protocol !== "https:") || parsed.search || parsed.hash) {
      invalid("advertiseUrl", `${JSON.stringify(advertiseUrl)} is not an http(s) base URL like http://petrel.petrel.svc:8470`);
    }
  }

  const host = text("host", field("host").value) ?? DEFAULT_HOST;
  const portValue = field("port").value;
  const port = portValue === undefined ? DEFAULT_PORT : Number(portValue);
  if (!Number.isInteger(port) || port < 0 || port > 65535) invalid("port", `${JSON.stringify(portValue)} is not a port number (0-65535)`);

  const domainsValue = field("domains").value;
  const domains = domainsValue === undefined ? [...DEFAULT_DOMAINS] : Array.isArray(domainsValue) ? domainsValue : String(domainsValue).split(",").map((d) => d.trim());
  if (domains.length === 0) invalid("domains", "at least one domain is needed");
  for (const d of domains) {
    if (typeof d !== "string" || !NAME_PATTERN.test(d)) invalid("domains", `${JSON.stringify(d)} is not a name (${NAME_PATTERN.source})`);
  }
  if (new Set(domains).size !== domains.length) invalid("domains", `${domains.join(",")} names a domain twice`);

  const bytes = (key: "maxBlobBytes" | "maxJsonBytes" | "inlineLiteralBytes", fallback: number) => {
    const v = field(key).value;
    return v === undefined ? fallback : parseBytes(v as string | number, key, where(key));
  };
  const maxBlobBytes = bytes("maxBlobBytes", DEFAULT_MAX_BLOB_BYTES);
  const maxJsonBytes = bytes("maxJsonBytes", DEFAULT_MAX_JSON_BYTES);
  const inlineLiteralBytes = bytes("inlineLiteralBytes", DEFAULT_INLINE_LITERAL_BYTES);

  const adminToken = text("adminToken", field("adminToken").value);
  if (adminToken !== undefined && adminToken.length < 16) invalid("adminToken", "must be at least 16 characters");

  const boolean = (name: "insecureLocal" | "scheduler", fallback: boolean): boolean => {
    const value = field(name).value;
    if (value === undefined) return fallback;
    if (value === true || value === "1" || value === "true" || value === "on") return true;
    if (value === false || value === "0" || value === "false" || value === "off") return false;
    return invalid(name, `${JSON.stringify(value)} is not true or false`);
  };
  const insecureLocal = boolean("insecureLocal", false);
  const scheduler = boolean("scheduler", true);
  if (insecureLocal && !LOOPBACK.has(host)) {
    invalid("insecureLocal", `turns authentication off, so it is only allowed on a loopback host (127.0.0.1, ::1, localhost), not ${host}`);
  }

  return {
    dataDir,
    db,
    blobs,
    catalog,
    runner,
    ...(advertiseUrl !== undefined ? { advertiseUrl: advertiseUrl.replace(/\/+$/, "") } : {}),
    host,
    port,
    domains,
    maxBlobBytes,
    maxJsonBytes,
    inlineLiteralBytes,
    ...(adminToken !== undefined ? { adminToken } : {}),
    insecureLocal,
    scheduler,
    sources,
  };
}
