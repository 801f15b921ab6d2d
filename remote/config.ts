/**
 * Where a Remote connects, from (first wins): the options given, the notebook's
 * `%petrel connect`, the environment (PETREL_ENDPOINT, PETREL_TOKEN,
 * PETREL_PROJECT, PETREL_DOMAIN), and the config file (PETREL_CONFIG, else
 * ~/.petrel/config.json, which `petrel connect` writes).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { REMOTE_ERRORS, RemoteError } from "./errors.js";

/** What a Remote connects with. Every field may come from the environment or the config file instead. */
export interface RemoteOptions {
  /** The backend's base URL, e.g. `http://127.0.0.1:8080`. */
  endpoint?: string;
  /** Default project (default: `default`). */
  project?: string;
  /** Default domain (default: `development`). */
  domain?: string;
  /** A bearer token (none for a server started with --insecure-local). */
  token?: string;
  /** The config file to read (default: PETREL_CONFIG, else ~/.petrel/config.json). */
  configFile?: string;
  /** Attempts for requests that fail transiently (connection reset, 429, 502-504); default 4. */
  retries?: number;
  /** One request may take this long (default 30 s; downloads get no total limit, only a stall limit). */
  timeoutMs?: number;
}

/** A resolved connection. */
export interface RemoteConfig {
  endpoint: string;
  project: string;
  domain: string;
  token: string | undefined;
  retries: number;
  timeoutMs: number;
  /** Where each field came from, for error messages and `petrel connect --show`. */
  source: string;
}

const FIELDS = ["endpoint", "project", "domain", "token"] as const;
type Field = (typeof FIELDS)[number];
type Partial4 = { [K in Field]?: string };

const ENV: Record<Field, string> = { endpoint: "PETREL_ENDPOINT", project: "PETREL_PROJECT", domain: "PETREL_DOMAIN", token: "PETREL_TOKEN" };

/** Set by `%petrel connect` in a notebook: what `new Remote()` uses before the environment. */
let connected: Partial4 | undefined;

/** Makes `options` the connection of every `new Remote()` without options in this process (`%petrel connect`). */
export function setDefaultConnection(options: Partial4 | undefined): void {
  connected = options && { ...options };
}

/** The config file: PETREL_CONFIG, else ~/.petrel/config.json. */
export function configFilePath(explicit?: string): string {
  return explicit ?? process.env.PETREL_CONFIG ?? join(homedir(), ".petrel", "config.json");
}

function readConfigFile(file: string): Partial4 {
  if (!existsSync(file)) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    throw new RemoteError(REMOTE_ERRORS.NOT_CONFIGURED, `the Petrel config file ${file} is not valid JSON (${(e as Error).message}); fix or delete it`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new RemoteError(REMOTE_ERRORS.NOT_CONFIGURED, `the Petrel config file ${file} must hold a JSON object like {"endpoint": "http://…", "token": "…"}`);
  }
  const out: Partial4 = {};
  for (const f of FIELDS) {
    const v = (parsed as Record<string, unknown>)[f];
    if (v === undefined) continue;
    if (typeof v !== "string") throw new RemoteError(REMOTE_ERRORS.NOT_CONFIGURED, `the Petrel config file ${file}: ${f} must be a string`);
    out[f] = v;
  }
  return out;
}

/** Writes the config file (`petrel connect`), readable by its owner only. */
export function writeConfigFile(values: Partial4, file = configFilePath()): string {
  mkdirSync(dirname(file), { recursive: true });
  const clean = Object.fromEntries(FIELDS.filter((f) => values[f] !== undefined).map((f) => [f, values[f]]));
  writeFileSync(file, `${JSON.stringify(clean, null, 2)}\n`, { mode: 0o600 });
  return file;
}

/** Resolves options against the notebook connection, the environment and the config file. */
export function resolveConfig(options: RemoteOptions = {}): RemoteConfig {
  const file = configFilePath(options.configFile);
  const layers: [string, Partial4][] = [
    ["options", options],
    ["%petrel connect", connected ?? {}],
    ["environment", Object.fromEntries(FIELDS.filter((f) => process.env[ENV[f]]).map((f) => [f, process.env[ENV[f]]]))],
    [file, readConfigFile(file)],
  ];
  const pick = (f: Field): [string | undefined, string] => {
    for (const [name, layer] of layers) if (layer[f] !== undefined && layer[f] !== "") return [layer[f], name];
    return [undefined, "default"];
  };
  const [endpoint, from] = pick("endpoint");
  if (!endpoint) {
    throw new RemoteError(
      REMOTE_ERRORS.NOT_CONFIGURED,
      `no Petrel endpoint: pass new Remote({ endpoint: "http://host:port" }), run %petrel connect <url> in a notebook, set PETREL_ENDPOINT, or run \`petrel connect <url>\` (writes ${file})`,
    );
  }
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new RemoteError(REMOTE_ERRORS.NOT_CONFIGURED, `the endpoint ${JSON.stringify(endpoint)} (from ${from}) is not a URL; expected e.g. http://127.0.0.1:8080`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new RemoteError(REMOTE_ERRORS.NOT_CONFIGURED, `the endpoint ${endpoint} (from ${from}) must be an http:// or https:// URL`);
  }
  const retries = options.retries ?? 4;
  const timeoutMs = options.timeoutMs ?? 30_000;
  return {
    endpoint: endpoint.replace(/\/+$/, ""),
    project: pick("project")[0] ?? "default",
    domain: pick("domain")[0] ?? "development",
    token: pick("token")[0],
    retries,
    timeoutMs,
    source: from,
  };
}
