/**
 * The kubernetes-pod task runner: one pod per attempt running kernel/runtime,
 * created rate-limited with backpressure, watched (list, then watch from the
 * resourceVersion), classified into the runner exits the engine understands,
 * aborted, logged and cleaned up; attempts survive a backend restart.
 *
 * @example
 * ```ts
 * import { createKubernetesPodRunner } from "petrel/backend";
 *
 * const runner = createKubernetesPodRunner({
 *   kubeConfig: "/etc/petrel/kubeconfig",              // default: in-cluster, else ~/.kube/config
 *   namespace: "ml-{project}-{domain}",
 *   image: "registry.example.com/petrel-runtime:0.1.0",
 *   interruptible: { tolerations: [{ key: "spot", operator: "Exists", effect: "NoSchedule" }] },
 * });
 * runner.onEvent((event) => console.log(event.type, event.assignment.node));
 * ```
 */
export { createKubernetesPodRunner, KUBERNETES_POD_RUNNER } from "./runner.js";
export type { KubernetesPodRunner, ReconcileReport } from "./runner.js";
export {
  compileKubernetesPodOptions,
  loadKubeConfig,
  DEFAULT_NAMESPACE_TEMPLATE,
  DEFAULT_RUNTIME_COMMAND,
  DEFAULT_GPU_RESOURCE,
  DEFAULT_MAX_CREATES_PER_SECOND,
  DEFAULT_MAX_PENDING_PODS,
  DEFAULT_UNSCHEDULABLE_DEADLINE_MS,
  DEFAULT_IMAGE_PULL_GRACE_MS,
  DEFAULT_ORPHAN_GRACE_MS,
  DEFAULT_ANCHOR_IDLE_MS,
  DEFAULT_POD_HOME,
} from "./options.js";
export type { KubernetesPodRunnerOptions, CompiledKubernetesPodOptions } from "./options.js";
export { buildPod, resourcesOf, runsInterruptible, imageOf, DEADLINE_GRACE_SECONDS, ABORT_GRACE_SECONDS } from "./pod-spec.js";
export type { PodContext } from "./pod-spec.js";
export { readPod, isScheduled } from "./classify.js";
export type { PodReading, PodProblem } from "./classify.js";
export { namespaceFor, podNameFor, anchorNameFor, labelValue, dnsLabel, podLabels, podAnnotations, LABELS, ANNOTATIONS, MANAGED_BY, MANAGED_SELECTOR, CONTAINER_NAME } from "./names.js";
