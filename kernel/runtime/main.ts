/**
 * The runtime process: `node dist/kernel/runtime/main.js`, one attempt per process,
 * configured by the environment of RUNTIME_ENV (endpoint, node token, assignment)
 * and RUNTIME_OPTIONAL_ENV. It starts fetching the bundle and inputs before it
 * loads the kernel (the network and the module loading overlap), runs the task
 * through {@link runAssignment}, reports the outcome, and exits 0 once the backend
 * has it (even when the outcome is FAILED), 3 when it could not report.
 *
 * Its stdout and stderr are the attempt's log: what the process writes through
 * them is capped (PETREL_LOG_MAX_BYTES, default 10 MiB, plus a 64 KiB tail).
 */
import { join, resolve } from "node:path";
import { parseAssignment } from "./assignment.js";
import { DEFAULT_HEARTBEAT_MS, envInt, RUNTIME_EXIT, RUNTIME_OPTIONAL_ENV } from "./env.js";
import { createBackendClient, DEFAULT_REPORT_DEADLINE_MS, type BackendClient } from "./http.js";
import { captureProcessOutput, DEFAULT_LOG_MAX_BYTES } from "./log-capture.js";
import { RUNTIME_ENV, type AttemptAssignment, type AttemptOutcome } from "./protocol.js";

async function main(env: NodeJS.ProcessEnv): Promise<number> {
  let assignment: AttemptAssignment;
  try {
    assignment = parseAssignment(env[RUNTIME_ENV.assignment] ?? "", RUNTIME_ENV.assignment);
  } catch (e) {
    console.error(`[petrel] ${(e as Error).message}: nothing ran`);
    return RUNTIME_EXIT.INVALID_ENVIRONMENT;
  }
  const endpoint = env[RUNTIME_ENV.endpoint];
  const token = env[RUNTIME_ENV.token];
  if (!endpoint || !token) {
    console.error(`[petrel] ${!endpoint ? RUNTIME_ENV.endpoint : RUNTIME_ENV.token} is not set: nothing ran`);
    return RUNTIME_EXIT.INVALID_ENVIRONMENT;
  }
  const home = resolve(env[RUNTIME_ENV.home] || ".petrel");
  const bundleDir = join(home, "bundles");
  const client = createBackendClient({ endpoint, token, assignment, bundleCacheDir: bundleDir });

  // Heartbeats from the start: the backend learns the attempt is alive, and the attempt learns when it should stop.
  const stop = new AbortController();
  const beat = () =>
    void client.heartbeat().then((running) => {
      if (running === false) stop.abort(new Error("the backend no longer runs this attempt (terminated, timed out or declared lost)"));
    });
  const heartbeatMs = envInt(env, RUNTIME_OPTIONAL_ENV.heartbeatMs, DEFAULT_HEARTBEAT_MS);
  if (heartbeatMs > 0) {
    beat();
    setInterval(beat, heartbeatMs).unref();
  }

  // Ask the backend now; load the kernel while the answers travel.
  const inputs = client.inputs();
  const bundle = client.bundle(assignment.bundle);
  bundle.catch(() => {});
  inputs.catch(() => {});
  const [{ runAssignment, failureOutcome }, { createMemoryBlobStore }] = await Promise.all([import("./run.js"), import("../types/index.js")]);

  // Task code that throws outside its own promise chain (a timer, a stray rejection) fails the attempt, not the process.
  const crashed = new Promise<AttemptOutcome>((resolveCrash) => {
    const onCrash = (e: unknown) => resolveCrash(failureOutcome(e));
    process.on("uncaughtException", onCrash);
  });
  const outcome = await Promise.race([
    runAssignment(
      assignment,
      {
        blobs: createMemoryBlobStore(join(home, "work")),
        bundle: (hash) => (hash === assignment.bundle ? bundle : client.bundle(hash)),
        inputs: () => inputs,
        fetchBlob: (ref) => client.blob(ref),
        uploadBlob: (ref, bytes) => client.upload(ref, bytes),
        recordCheckpoint: (ref) => client.checkpoint(ref),
        log: (line) => process.stdout.write(`${line}\n`),
      },
      { bundleDir, signal: stop.signal },
    ),
    crashed,
  ]);
  if (outcome.phase !== "SUCCEEDED") {
    const e = outcome.error;
    console.error(`[petrel] attempt ${assignment.attempt} of node ${assignment.node} ${outcome.phase} (${e.kind} error ${e.code}, ${e.retryable ? "retryable" : "not retryable"}): ${e.message}${e.stack ? `\n${e.stack}` : ""}`);
  }
  return report(client, assignment, outcome, envInt(env, RUNTIME_OPTIONAL_ENV.reportDeadlineMs, DEFAULT_REPORT_DEADLINE_MS));
}

/** Reports the outcome; a SUCCEEDED outcome the backend refuses (400) is reported as the failure it is. */
async function report(client: BackendClient, assignment: AttemptAssignment, outcome: AttemptOutcome, deadlineMs: number): Promise<number> {
  try {
    let result = await client.report(outcome, deadlineMs);
    if (result.status === 400 && outcome.phase === "SUCCEEDED") {
      console.error(`[petrel] the backend refused the outputs: ${result.message}`);
      result = await client.report(
        { phase: "FAILED", error: { kind: "user", code: "OUTPUTS_REJECTED", message: `the backend refused the task's outputs: ${result.message ?? "400"}`, retryable: false } },
        deadlineMs,
      );
    }
    if (result.status >= 200 && result.status < 300) return RUNTIME_EXIT.REPORTED;
    if (result.status === 409) {
      console.error(`[petrel] attempt ${assignment.attempt} is no longer current; the backend kept what it has: ${result.message}`);
      return RUNTIME_EXIT.REPORTED;
    }
    console.error(`[petrel] the backend refused the outcome (${result.status}): ${result.message}`);
  } catch (e) {
    console.error(`[petrel] could not report the outcome: ${(e as Error).message}`);
  }
  return RUNTIME_EXIT.UNREPORTED;
}

const capture = captureProcessOutput(envInt(process.env, RUNTIME_OPTIONAL_ENV.logMaxBytes, DEFAULT_LOG_MAX_BYTES));
process.once("SIGTERM", () => {
  console.error("[petrel] stopped by SIGTERM: the attempt was aborted");
  capture.finish();
  process.exit(RUNTIME_EXIT.TERMINATED);
});
const code = await main(process.env);
capture.finish();
process.exit(code);
