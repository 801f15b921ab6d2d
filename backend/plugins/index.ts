/**
 * Task runners: how the engine starts, watches, stops and reads the logs of task
 * attempts. The local-process runner runs each attempt in its own `node` process
 * (or on warm workers), with memory limits, CPU admission and capped logs; the
 * kubernetes-pod runner runs each attempt in its own pod.
 *
 * @example
 * ```ts
 * import { createKubernetesPodRunner, createLocalProcessRunner } from "petrel/backend";
 *
 * const runner = createLocalProcessRunner({ logDir: ".petrel/logs" });           // a process per attempt
 * const fast = createLocalProcessRunner({ warm: { workers: 2, blobRoot: "blobs" } }); // warm workers
 * runner.onEvent((event) => console.log(event.type, event.assignment.node));
 * await runner.launch({ assignment, task, inputs, endpoint: "http://127.0.0.1:8470", token });
 *
 * const pods = createKubernetesPodRunner({ namespace: "petrel-{project}-{domain}" }); // a pod per attempt
 * ```
 */
export type { AttemptExit, LaunchRequest, LogReadOptions, RunnerCapabilities, RunnerEvent, TaskRunner } from "./types.js";
export { createLocalProcessRunner, LOCAL_PROCESS_RUNNER } from "./local-process.js";
export { compileRunnerOptions, DEFAULT_KILL_GRACE_MS, DEFAULT_POLL_MS } from "./options.js";
export type { CompiledRunnerOptions, LocalProcessRunnerOptions, WarmWorkerOptions } from "./options.js";
export { parseQuantity, parseMemory } from "./quantity.js";
export {
  createKubernetesPodRunner,
  KUBERNETES_POD_RUNNER,
  compileKubernetesPodOptions,
  loadKubeConfig,
  buildPod,
  readPod,
  namespaceFor,
  podNameFor,
  anchorNameFor,
  labelValue,
  DEFAULT_NAMESPACE_TEMPLATE,
  DEFAULT_RUNTIME_COMMAND,
  DEFAULT_MAX_CREATES_PER_SECOND,
  DEFAULT_MAX_PENDING_PODS,
  DEFAULT_UNSCHEDULABLE_DEADLINE_MS,
  DEFAULT_IMAGE_PULL_GRACE_MS,
} from "./kubernetes-pod/index.js";
export type { KubernetesPodRunner, KubernetesPodRunnerOptions, CompiledKubernetesPodOptions, ReconcileReport, PodReading, PodProblem } from "./kubernetes-pod/index.js";
