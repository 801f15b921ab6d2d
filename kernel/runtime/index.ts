/**
 * The task runtime: what runs one attempt of one task wherever it is placed — a
 * process per attempt (`node dist/kernel/runtime/main.js`, talking HTTP to the
 * backend with a node-scoped token), a warm worker (`dist/kernel/runtime/worker.js`
 * over IPC), a pod. Every transport runs the same core, {@link runAssignment},
 * which runs the task through the local engine's own single-attempt runner: local
 * and remote runs differ only in where the code runs.
 *
 * @example
 * ```ts
 * import { runAssignment, createMemoryBlobStore } from "petrel";
 *
 * const outcome = await runAssignment(assignment, {
 *   blobs: createMemoryBlobStore("/tmp/petrel-work"),
 *   bundle: async (hash) => readFileSync(`bundles/${hash}`),
 *   inputs: async () => ({ x: { kind: "int", value: "41" } }),
 *   recordCheckpoint: async () => {},
 *   log: (line) => console.log(line),
 * });
 * outcome.phase; // "SUCCEEDED", "FAILED" or "TIMED_OUT"
 * ```
 */
export { RUNTIME_ENV } from "./protocol.js";
export type { AttemptAssignment, AttemptOutcome, WorkerReply, WorkerRequest } from "./protocol.js";
export { RUNTIME_EXIT, RUNTIME_OPTIONAL_ENV, attemptId } from "./env.js";
export { runAssignment, failureOutcome, defaultBundleDir } from "./run.js";
export type { RuntimeIO, RunAssignmentOptions } from "./run.js";
export { parseAssignment } from "./assignment.js";
export { createBackendClient, DEFAULT_REPORT_DEADLINE_MS, DEFAULT_REQUEST_DEADLINE_MS } from "./http.js";
export type { BackendClient, BackendClientOptions, ReportResult } from "./http.js";
export { CappedLog, DEFAULT_LOG_MAX_BYTES, DEFAULT_LOG_TAIL_BYTES } from "./log-capture.js";
export { RuntimeError, isRuntimeError, RUNTIME_ERRORS } from "./errors.js";
export type { RuntimeErrorCode } from "./errors.js";
