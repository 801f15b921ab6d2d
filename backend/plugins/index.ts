/**
 * Task runners: how the engine starts, watches, stops and reads the logs of task
 * attempts. The local-process runner runs each attempt in its own `node` process
 * (or on warm workers), with memory limits, CPU admission and capped logs.
 *
 * @example
 * ```ts
 * import { createLocalProcessRunner } from "petrel/backend";
 *
 * const runner = createLocalProcessRunner({ logDir: ".petrel/logs" });           // a process per attempt
 * const fast = createLocalProcessRunner({ warm: { workers: 2, blobRoot: "blobs" } }); // warm workers
 * runner.onEvent((event) => console.log(event.type, event.assignment.node));
 * await runner.launch({ assignment, task, inputs, endpoint: "http://127.0.0.1:8470", token });
 * ```
 */
export type { AttemptExit, LaunchRequest, LogReadOptions, RunnerCapabilities, RunnerEvent, TaskRunner } from "./types.js";
export { createLocalProcessRunner, LOCAL_PROCESS_RUNNER } from "./local-process.js";
export { compileRunnerOptions, DEFAULT_KILL_GRACE_MS, DEFAULT_POLL_MS } from "./options.js";
export type { CompiledRunnerOptions, LocalProcessRunnerOptions, WarmWorkerOptions } from "./options.js";
export { parseQuantity, parseMemory } from "./quantity.js";
