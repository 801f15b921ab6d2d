/**
 * The core of the task runtime, the same wherever an attempt runs (a process
 * talking HTTP, a warm worker, a pod): load the bundle, find the task, make its
 * inputs local, run it through the local engine's single-attempt runner, publish
 * its outputs, and turn whatever happened into an AttemptOutcome. Transports only
 * supply a {@link RuntimeIO}.
 */
import { join, resolve } from "node:path";
import { blobsOf, type BlobRef, type FailureRecord, type LiteralMap } from "../model/index.js";
import { createTypeEngine, sha256, type BlobAccess, type TypeEngine } from "../types/index.js";
import { attemptFailure, runTaskAttempt, toFailure, type LocalTask } from "../local/index.js";
import { BUNDLE_ERRORS, BundleError, DEFAULT_BUNDLE_DIR, decodeBundle, isBundleError, loadBundle, type LoadedBundle } from "../bundle/index.js";
import { isRuntimeError, RUNTIME_ERRORS, RuntimeError } from "./errors.js";
import { RUNTIME_ENV, type AttemptAssignment, type AttemptOutcome } from "./protocol.js";

/** What a transport gives the runtime: data in, data out, logs. */
export interface RuntimeIO {
  /** The local store the (synchronous) type engine reads inputs from and writes outputs to. */
  readonly blobs: BlobAccess;
  /** The bundle's bytes (`sha256:<hex>`); the runtime checks them against the hash. */
  bundle(hash: string): Promise<Uint8Array>;
  /** The node's inputs. */
  inputs(): Promise<LiteralMap>;
  /** The bytes of a blob `blobs` lacks. Absent when `blobs` is the shared store itself (warm workers). */
  fetchBlob?(ref: BlobRef): Promise<Uint8Array>;
  /** Publishes a blob written to `blobs` (outputs, checkpoints). Absent when `blobs` is the shared store. */
  uploadBlob?(ref: BlobRef, bytes: Uint8Array): Promise<void>;
  /** Records the node's checkpoint; its blob is already published. */
  recordCheckpoint(ref: BlobRef): Promise<void>;
  /** A line the task logged with `ctx.log`. */
  log(line: string): void;
}

/** Options of {@link runAssignment}. */
export interface RunAssignmentOptions {
  /**
   * Where bundle modules are written and imported from. Packages a bundle imports
   * resolve from there, so it belongs inside the project whose node_modules hold
   * them. Default: `$PETREL_HOME/bundles`, else `.petrel/bundles` under the working directory.
   */
  bundleDir?: string;
  /** A type engine with extra converters (default: the built-in one). */
  typeEngine?: TypeEngine;
  /** Ends the attempt at once (FAILED, system, ATTEMPT_ABORTED, not retryable); the task sees `ctx.signal` aborted. */
  signal?: AbortSignal;
}

/** Failure messages and stacks are cut to these lengths, so a report always fits the API's limits. */
const MAX_MESSAGE_CHARS = 10_000;
const MAX_STACK_CHARS = 50_000;
/** Blobs fetched at once while making inputs local. */
const FETCH_CONCURRENCY = 8;

/** Loaded bundles by directory and hash: a warm process loads each bundle once. */
const loadedBundles = new Map<string, Promise<LoadedBundle>>();
let defaultEngine: TypeEngine | undefined;

/** The bundle directory when none is given: `$PETREL_HOME/bundles`, else `.petrel/bundles` under the working directory. */
export function defaultBundleDir(env: NodeJS.ProcessEnv = process.env): string {
  const home = env[RUNTIME_ENV.home];
  return resolve(home ? join(home, "bundles") : DEFAULT_BUNDLE_DIR);
}

/**
 * Runs one attempt and says how it ended. Never rejects: a task's error, a timeout,
 * a missing package or an unreachable backend all become a FAILED or TIMED_OUT
 * outcome with a failure record — `user` for what the task's code or bundle did
 * (retryable unless it cannot get better), `system` for infrastructure (retryable).
 *
 * @example
 * ```ts
 * const outcome = await runAssignment(assignment, {
 *   blobs: createMemoryBlobStore("/tmp/work"),
 *   bundle: async () => bundleBytes,
 *   inputs: async () => ({ x: { kind: "int", value: "1" } }),
 *   recordCheckpoint: async () => {},
 *   log: (line) => console.log(line),
 * });
 * ```
 */
export async function runAssignment(assignment: AttemptAssignment, io: RuntimeIO, options: RunAssignmentOptions = {}): Promise<AttemptOutcome> {
  const signal = options.signal;
  let aborted: Promise<never> | undefined;
  if (signal) {
    aborted = new Promise<never>((_, reject) => {
      const fail = () => reject(new RuntimeError(RUNTIME_ERRORS.ATTEMPT_ABORTED, `attempt ${assignment.attempt} of node ${assignment.node} was aborted: ${reasonText(signal.reason)}`));
      if (signal.aborted) fail();
      else signal.addEventListener("abort", fail, { once: true });
    });
    aborted.catch(() => {}); // observed by the races below; never an unhandled rejection
  }
  const race = <T>(p: Promise<T>): Promise<T> => (aborted ? Promise.race([p, aborted]) : p);
  try {
    const [bundle, inputs] = await race(Promise.all([bundleOf(assignment.bundle, io, options.bundleDir), fetchInputs(io)]));
    const task = bundle.tasks.get(assignment.task.name) as LocalTask | undefined;
    if (!task) {
      const held = [...bundle.tasks.keys()];
      throw new RuntimeError(
        RUNTIME_ERRORS.TASK_NOT_FOUND,
        `task ${assignment.task.name} is not in bundle ${assignment.bundle} (it holds ${held.length > 0 ? `tasks ${held.join(", ")}` : "no tasks"})`,
        { task: assignment.task.name, bundle: assignment.bundle },
      );
    }
    const wanted: BlobRef[] = [];
    for (const name in inputs) blobsOf(inputs[name]!, wanted);
    if (assignment.checkpoint) wanted.push(assignment.checkpoint);
    if (wanted.length > 0) await race(makeLocal(wanted, io));

    const outputs = await race(
      runTaskAttempt(task, inputs, {
        engine: options.typeEngine ?? (defaultEngine ??= createTypeEngine()),
        blobs: io.blobs,
        attempt: assignment.attempt + 1,
        maxAttempts: assignment.maxAttempts,
        runId: assignment.execution.name,
        nodePath: assignment.node,
        ...(assignment.timeoutMs !== undefined ? { timeoutMs: assignment.timeoutMs } : {}),
        checkpoint: assignment.checkpoint ? { ref: assignment.checkpoint } : {},
        onCheckpoint: async (ref) => {
          if (io.uploadBlob) await io.uploadBlob(ref, io.blobs.get(ref));
          await io.recordCheckpoint(ref);
        },
        ...(signal ? { signal } : {}),
        onLog: (line) => io.log(line),
      }),
    );
    if (io.uploadBlob) await race(publish(outputs, io));
    return { phase: "SUCCEEDED", outputs };
  } catch (e) {
    return failureOutcome(e);
  }
}

/**
 * The outcome of an attempt that threw `e`, within the API's size limits: a
 * RuntimeError is a system failure (retryable unless it cannot get better), a
 * BundleError the user's (never retryable), anything else as the local engine
 * classifies it (user code errors retryable, timeouts TIMED_OUT).
 */
export function failureOutcome(e: unknown): AttemptOutcome {
  let phase: "FAILED" | "TIMED_OUT" = "FAILED";
  let error: FailureRecord;
  if (isRuntimeError(e)) {
    const deterministic = e.code === RUNTIME_ERRORS.TASK_NOT_FOUND || e.code === RUNTIME_ERRORS.ATTEMPT_ABORTED || e.code === RUNTIME_ERRORS.INVALID_ASSIGNMENT;
    error = { kind: "system", code: e.code, message: e.message, retryable: !deterministic };
  } else if (isBundleError(e)) {
    // The bundle fails the same way on every attempt: the user's to fix.
    error = { ...toFailure(e, "user"), retryable: false };
    delete error.stack;
  } else {
    ({ phase, error } = attemptFailure(e));
  }
  if (error.message.length > MAX_MESSAGE_CHARS) error.message = `${error.message.slice(0, MAX_MESSAGE_CHARS)}… (${error.message.length} characters, cut)`;
  if (error.stack && error.stack.length > MAX_STACK_CHARS) error.stack = `${error.stack.slice(0, MAX_STACK_CHARS)}\n    … (cut)`;
  return { phase, error };
}

/** The loadBundle error, with the `npm install` that fixes a package mismatch. */
function withInstallHint(e: unknown, bytes: Uint8Array, dir: string): unknown {
  if (!isBundleError(e) || e.code !== BUNDLE_ERRORS.PACKAGE_MISMATCH) return e;
  const packages = Object.entries(decodeBundle(bytes).manifest.packages).filter(([name, v]) => v !== "*" && name !== "petrel");
  if (packages.length === 0) return e;
  const install = `npm install ${packages.map(([n, v]) => `${n}@${v}`).join(" ")}`;
  return new BundleError(
    BUNDLE_ERRORS.PACKAGE_MISMATCH,
    `${e.message}. Install them in the project the runtime loads bundles in (${dir} must see them in a node_modules above it): ${install}`,
    {},
    { cause: e },
  );
}

/** The loaded bundle for a hash, loading it once per process and directory. */
function bundleOf(hash: string, io: RuntimeIO, dir: string | undefined): Promise<LoadedBundle> {
  const bundleDir = dir ?? defaultBundleDir();
  const key = `${bundleDir}\0${hash}`;
  let loading = loadedBundles.get(key);
  if (!loading) {
    loading = (async () => {
      let bytes: Uint8Array;
      try {
        bytes = await io.bundle(hash);
      } catch (e) {
        throw asBackendError(e, `fetching bundle ${hash}`);
      }
      // Checked here, not by loadBundle: bytes garbled on the way are worth a retry, a bad bundle is not.
      const actual = sha256(bytes);
      if (actual !== hash) {
        throw new RuntimeError(RUNTIME_ERRORS.BLOB_INTEGRITY, `bundle ${hash}: the bytes received hash to ${actual}`, { hash, actual });
      }
      try {
        return await loadBundle(bytes, { expectedHash: hash, dir: bundleDir, packages: "check" });
      } catch (e) {
        throw withInstallHint(e, bytes, bundleDir);
      }
    })();
    loadedBundles.set(key, loading);
    loading.catch(() => loadedBundles.delete(key));
  }
  return loading;
}

async function fetchInputs(io: RuntimeIO): Promise<LiteralMap> {
  try {
    return await io.inputs();
  } catch (e) {
    throw asBackendError(e, "fetching the node's inputs");
  }
}

/** Fetches every blob `blobs` lacks, a few at a time, checking each against its hash. */
async function makeLocal(refs: BlobRef[], io: RuntimeIO): Promise<void> {
  if (!io.fetchBlob) return;
  const fetchBlob = io.fetchBlob.bind(io);
  const seen = new Set<string>();
  const missing = refs.filter((r) => !seen.has(r.hash) && (seen.add(r.hash), !io.blobs.has(r.hash)));
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < missing.length) {
      const ref = missing[next++]!;
      let bytes: Uint8Array;
      try {
        bytes = await fetchBlob(ref);
      } catch (e) {
        throw asBackendError(e, `fetching input blob ${ref.hash}`);
      }
      const stored = io.blobs.put(bytes, ref.format, ref.filename);
      if (stored.hash !== ref.hash) {
        throw new RuntimeError(RUNTIME_ERRORS.BLOB_INTEGRITY, `input blob ${ref.hash}: the bytes received hash to ${stored.hash}`, { hash: ref.hash, actual: stored.hash });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(FETCH_CONCURRENCY, missing.length) }, worker));
}

/** Uploads every blob the outputs refer to. */
async function publish(outputs: LiteralMap, io: RuntimeIO): Promise<void> {
  const refs: BlobRef[] = [];
  for (const name in outputs) blobsOf(outputs[name]!, refs);
  const seen = new Set<string>();
  for (const ref of refs) {
    if (seen.has(ref.hash)) continue;
    seen.add(ref.hash);
    try {
      await io.uploadBlob!(ref, io.blobs.get(ref));
    } catch (e) {
      throw asBackendError(e, `uploading output blob ${ref.hash}`);
    }
  }
}

/** Transport failures are infrastructure: a RuntimeError as is, anything else wrapped with what was being done. */
function asBackendError(e: unknown, doing: string): RuntimeError {
  if (isRuntimeError(e)) return e;
  return new RuntimeError(RUNTIME_ERRORS.BACKEND_ERROR, `${doing}: ${(e as Error)?.message ?? String(e)}`, {}, { cause: e });
}

function reasonText(reason: unknown): string {
  if (reason instanceof Error) return reason.message;
  return typeof reason === "string" ? reason : "no reason given";
}
