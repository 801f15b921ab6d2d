/**
 * A warm runtime worker: `child_process.fork("dist/kernel/runtime/worker.js")`,
 * one attempt at a time over IPC (WorkerRequest in, WorkerReply out). It loads the
 * kernel once, each bundle once, reads and writes blobs directly in the
 * filesystem blob root it shares with the backend (PETREL_BLOB_ROOT), and sends
 * what an attempt prints as `log` messages, capped per attempt, ordered with the
 * result. It exits when the IPC channel closes (the backend is gone), and after an
 * attempt that timed out or was aborted, whose code may still be running.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { envInt, RUNTIME_EXIT, RUNTIME_OPTIONAL_ENV } from "./env.js";
import { CappedLog, DEFAULT_LOG_MAX_BYTES, interceptWrites } from "./log-capture.js";
import { parseAssignment } from "./assignment.js";
import type { AttemptOutcome, WorkerReply, WorkerRequest } from "./protocol.js";

/** Printed output is sent in batches of at most this many characters. */
const LOG_BATCH_CHARS = 64 * 1024;

const send = process.send?.bind(process);
if (!send) {
  console.error("[petrel] the runtime worker must be started with child_process.fork (it talks over IPC)");
  process.exit(RUNTIME_EXIT.INVALID_ENVIRONMENT);
}
const blobRoot = process.env[RUNTIME_OPTIONAL_ENV.blobRoot];
if (!blobRoot) {
  console.error(`[petrel] ${RUNTIME_OPTIONAL_ENV.blobRoot} is not set: the worker reads and writes blobs there`);
  process.exit(RUNTIME_EXIT.INVALID_ENVIRONMENT);
}
const reply = (message: WorkerReply, done?: () => void): void => {
  send!(message, undefined, undefined, done);
};
// The backend is gone: nobody to report to.
process.on("disconnect", () => process.exit(0));

/** The attempt running now, if any. */
interface Current {
  id: number;
  controller: AbortController;
  log: CappedLog;
  pending: string[];
  pendingChars: number;
  flushQueued: boolean;
}
let current: Current | undefined;

const flush = (c: Current): void => {
  c.flushQueued = false;
  if (c.pending.length === 0) return;
  const data = c.pending.length === 1 ? c.pending[0]! : c.pending.join("");
  c.pending = [];
  c.pendingChars = 0;
  reply({ type: "log", id: c.id, data });
};

// Task code that ends the process: what it printed last still reaches the attempt's log.
process.on("exit", () => {
  if (current) flush(current);
});

const maxLogBytes = envInt(process.env, RUNTIME_OPTIONAL_ENV.logMaxBytes, DEFAULT_LOG_MAX_BYTES);
const capture = (chunk: string | Uint8Array, original: (chunk: string | Uint8Array) => boolean): void => {
  const c = current;
  if (!c) {
    original(chunk); // between attempts: the worker's own stdout/stderr
    return;
  }
  const kept = c.log.admit(chunk);
  if (kept === undefined) return;
  const text = typeof kept === "string" ? kept : Buffer.from(kept.buffer, kept.byteOffset, kept.byteLength).toString("utf8");
  c.pending.push(text);
  c.pendingChars += text.length;
  if (c.pendingChars >= LOG_BATCH_CHARS) flush(c);
  else if (!c.flushQueued) {
    c.flushQueued = true;
    setImmediate(() => flush(c));
  }
};
interceptWrites(process.stdout, capture);
interceptWrites(process.stderr, capture);

const [{ runAssignment, failureOutcome }, { createFsBlobStore }] = await Promise.all([import("./run.js"), import("../types/index.js")]);
const blobs = createFsBlobStore(blobRoot, { memoryBytes: 64 * 1024 * 1024 });
const blobPath = (hash: string) => {
  const hex = hash.slice("sha256:".length);
  return join(blobRoot, "sha256", hex.slice(0, 2), hex);
};

// Task code that throws outside its own promise chain fails the running attempt, not the worker.
let onCrash: ((e: unknown) => void) | undefined;
process.on("uncaughtException", (e) => {
  if (onCrash) onCrash(e);
  else console.error(`[petrel] uncaught exception between attempts: ${(e as Error)?.stack ?? String(e)}`);
});

async function run(message: Extract<WorkerRequest, { type: "run" }>): Promise<void> {
  if (current) {
    reply({ type: "result", id: message.id, outcome: { phase: "FAILED", error: { kind: "system", code: "WORKER_BUSY", message: `worker ${process.pid} is already running attempt ${current.id}`, retryable: true } } });
    return;
  }
  const c: Current = { id: message.id, controller: new AbortController(), log: new CappedLog(maxLogBytes), pending: [], pendingChars: 0, flushQueued: false };
  current = c;
  const restore = applyEnv(message.env);
  let outcome: AttemptOutcome;
  try {
    const assignment = parseAssignment(message.assignment, "the run message's assignment");
    outcome = await Promise.race([
      runAssignment(
        assignment,
        {
          blobs,
          bundle: async (hash) => new Uint8Array(await readFile(blobPath(hash))),
          inputs: () => Promise.resolve(message.inputs),
          recordCheckpoint: (ref) => {
            reply({ type: "checkpoint", id: c.id, checkpoint: ref });
            return Promise.resolve();
          },
          log: (line) => process.stdout.write(`${line}\n`),
        },
        { signal: c.controller.signal },
      ),
      new Promise<AttemptOutcome>((resolve) => (onCrash = (e) => resolve(failureOutcome(e)))),
    ]);
  } catch (e) {
    outcome = failureOutcome(e);
  } finally {
    onCrash = undefined;
    restore();
  }
  const end = c.log.finish();
  if (end) c.pending.push(Buffer.from(end).toString("utf8"));
  flush(c);
  current = undefined;
  // A timed-out or aborted task may still be running: this worker is not clean any more.
  const recycle = outcome.phase === "TIMED_OUT" || c.controller.signal.aborted;
  reply({ type: "result", id: message.id, outcome }, recycle ? () => process.exit(0) : undefined);
}

/** Sets the task's environment variables; returns what puts the old values back. */
function applyEnv(env: Record<string, string> | undefined): () => void {
  if (!env) return () => {};
  const keys = Object.keys(env);
  if (keys.length === 0) return () => {};
  const before = keys.map((k) => [k, process.env[k]] as const);
  for (const k of keys) process.env[k] = env[k];
  return () => {
    for (const [k, v] of before) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
}

process.on("message", (message: WorkerRequest) => {
  if (message.type === "run") void run(message);
  else if (message.type === "abort" && current?.id === message.id) current.controller.abort(message.reason);
});
reply({ type: "ready", pid: process.pid });
