/** Options of the local-process runner, compiled once into a complete object. */
import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { DEFAULT_LOG_MAX_BYTES, RUNTIME_ENV } from "../../kernel/runtime/index.js";

/** SIGKILL follows SIGTERM after this long when an attempt is aborted. */
export const DEFAULT_KILL_GRACE_MS = 2_000;
/** Memory, liveness and log sizes are checked this often. */
export const DEFAULT_POLL_MS = 200;

/** Options of warm-worker mode. */
export interface WarmWorkerOptions {
  /** Workers kept alive (each runs one attempt at a time). */
  workers: number;
  /** The backend's filesystem blob root (`<root>/sha256/<2 hex>/<hex>`): workers read inputs and bundles and write outputs there. */
  blobRoot: string;
  /** IPC serialization (default "json": the fastest for the small messages of trivial tasks). */
  serialization?: "json" | "advanced";
}

/** Options of {@link createLocalProcessRunner}; all optional. */
export interface LocalProcessRunnerOptions {
  /** Where attempt logs go (default `$PETREL_HOME/logs`, else `.petrel/logs` under `cwd`). */
  logDir?: string;
  /** Most bytes of stdout+stderr stored per attempt (default 10 MiB; past it, a note and the last 64 KiB). */
  maxLogBytes?: number;
  /** Working directory of runtimes: the project whose node_modules hold the bundles' packages (default: this process's). */
  cwd?: string;
  /** PETREL_HOME of runtimes; bundles are cached and loaded under `<home>/bundles` (default `$PETREL_HOME`, else `<cwd>/.petrel`). */
  home?: string;
  /** Environment for every attempt, on top of a few inherited variables (PATH, HOME, LANG, TZ, TMPDIR); the task's own `env` comes on top. */
  env?: Record<string, string>;
  /** Most attempts running at once (default `os.availableParallelism()`). */
  maxConcurrentAttempts?: number;
  /** CPUs the running attempts' cpu requests may add up to (default `os.availableParallelism()`). */
  cpus?: number;
  /** After SIGTERM, SIGKILL follows this long after (default 2 s). */
  killGraceMs?: number;
  /** How often memory, liveness and log sizes are checked (default 200 ms). */
  pollMs?: number;
  /** Node flags for runtime processes. */
  execArgv?: string[];
  /** The runtime entry module (default: `kernel/runtime/main.js` of the built package). */
  runtimeEntry?: string;
  /** The warm worker entry module (default: `kernel/runtime/worker.js` of the built package). */
  workerEntry?: string;
  /** Keep this many runtime workers alive and send every attempt to an idle one, instead of a process per attempt. */
  warm?: WarmWorkerOptions;
}

/** The complete settings a runner works with. */
export interface CompiledRunnerOptions {
  logDir: string;
  maxLogBytes: number;
  cwd: string;
  home: string;
  /** The environment every runtime starts from (inherited allowlist + `env`). */
  baseEnv: Record<string, string>;
  maxConcurrentAttempts: number;
  cpus: number;
  killGraceMs: number;
  pollMs: number;
  execArgv: string[];
  runtimeEntry: string;
  workerEntry: string;
  warm: Required<WarmWorkerOptions> | undefined;
}

/**
 * Variables a runtime inherits from the backend. Nothing else leaks into task
 * processes (the backend's own tokens, database URLs and NODE_OPTIONS stay out).
 */
const INHERITED_ENV = ["PATH", "HOME", "USER", "LOGNAME", "SHELL", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "NODE_EXTRA_CA_CERTS", "SSL_CERT_FILE", "SSL_CERT_DIR"];

/** Checks options and fills in every default; errors name the option. */
export function compileRunnerOptions(options: LocalProcessRunnerOptions = {}): CompiledRunnerOptions {
  const cwd = resolve(options.cwd ?? process.cwd());
  const home = resolve(cwd, options.home ?? process.env[RUNTIME_ENV.home] ?? join(cwd, ".petrel"));
  const cores = availableParallelism();
  const positive = (value: number | undefined, name: string, fallback: number, integer = true): number => {
    if (value === undefined) return fallback;
    if (!(typeof value === "number" && value > 0 && (!integer || Number.isSafeInteger(value)))) {
      throw new RangeError(`local-process runner: ${name} must be a positive ${integer ? "integer" : "number"}, got ${JSON.stringify(value)}`);
    }
    return value;
  };
  const baseEnv: Record<string, string> = {};
  for (const name of INHERITED_ENV) {
    const v = process.env[name];
    if (v !== undefined) baseEnv[name] = v;
  }
  Object.assign(baseEnv, options.env);
  let warm: CompiledRunnerOptions["warm"];
  if (options.warm) {
    if (!options.warm.blobRoot) throw new RangeError("local-process runner: warm.blobRoot must name the backend's filesystem blob root");
    warm = {
      workers: positive(options.warm.workers, "warm.workers", 1),
      blobRoot: resolve(options.warm.blobRoot),
      serialization: options.warm.serialization ?? "json",
    };
  }
  return {
    logDir: resolve(cwd, options.logDir ?? join(home, "logs")),
    maxLogBytes: positive(options.maxLogBytes, "maxLogBytes", DEFAULT_LOG_MAX_BYTES),
    cwd,
    home,
    baseEnv,
    maxConcurrentAttempts: positive(options.maxConcurrentAttempts, "maxConcurrentAttempts", cores),
    cpus: positive(options.cpus, "cpus", cores, false),
    killGraceMs: positive(options.killGraceMs, "killGraceMs", DEFAULT_KILL_GRACE_MS),
    pollMs: positive(options.pollMs, "pollMs", DEFAULT_POLL_MS),
    execArgv: options.execArgv ?? [],
    runtimeEntry: options.runtimeEntry ?? builtModule("main.js"),
    workerEntry: options.workerEntry ?? builtModule("worker.js"),
    warm,
  };
}

/**
 * A module of the built runtime: next to this file's own build (dist/backend/plugins →
 * dist/kernel/runtime), or, when this file runs from sources (tests), under dist/.
 */
function builtModule(name: string): string {
  const candidates = [new URL(`../../kernel/runtime/${name}`, import.meta.url), new URL(`../../dist/kernel/runtime/${name}`, import.meta.url)];
  for (const url of candidates) {
    const path = fileURLToPath(url);
    if (existsSync(path)) return path;
  }
  return fileURLToPath(candidates[0]!);
}
