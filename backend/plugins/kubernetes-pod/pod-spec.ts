/**
 * The pod of one attempt, as plain data: the runtime container with the task's
 * image, resources and environment, the runtime protocol's variables, the
 * task's Secrets, the deadline, interruptible placement, labels, annotations and
 * the owner link.
 */
import type { V1EnvVar, V1OwnerReference, V1Pod, V1ResourceRequirements } from "@kubernetes/client-node";
import type { ResourceList, TaskSpec } from "../../../kernel/index.js";
import { attemptId, RUNTIME_ENV, RUNTIME_OPTIONAL_ENV, type AttemptAssignment } from "../../../kernel/runtime/index.js";
import { CONTAINER_NAME, podAnnotations, podLabels } from "./names.js";
import type { CompiledKubernetesPodOptions } from "./options.js";

/** activeDeadlineSeconds is the task's timeout plus this: the runtime times the task out itself first and reports it. */
export const DEADLINE_GRACE_SECONDS = 30;
/** Seconds an aborted pod gets between SIGTERM and SIGKILL. */
export const ABORT_GRACE_SECONDS = 5;
/** The emptyDir volume mounted at PETREL_HOME. */
const HOME_VOLUME = "petrel-home";

/** What a pod needs besides the attempt and its task. */
export interface PodContext {
  namespace: string;
  name: string;
  /** The backend's base URL, as the pod reaches it. */
  endpoint: string;
  /** The node-scoped token. */
  token: string;
  /** The owner (the execution's anchor ConfigMap), when there is one. */
  owner?: V1OwnerReference;
}

/** The image an attempt runs: the task's, else the project-domain's, else the runner's default. */
export function imageOf(task: TaskSpec, assignment: AttemptAssignment, options: CompiledKubernetesPodOptions): string {
  return task.image ?? options.imageFor?.(assignment.execution.project, assignment.execution.domain) ?? options.image;
}

/** Whether this attempt goes to interruptible capacity: an interruptible task, except on its last attempt. */
export function runsInterruptible(task: TaskSpec, assignment: AttemptAssignment): boolean {
  return task.interruptible && assignment.attempt < assignment.maxAttempts - 1;
}

/**
 * Container resources of a task: `cpu`, `memory` (from `mem`), the GPU resource
 * (from `gpu`; extended resources must have equal requests and limits, so one
 * value goes in both) and `ephemeral-storage` (from `ephemeralStorage`, else `storage`).
 */
export function resourcesOf(task: TaskSpec, gpuResource: string): V1ResourceRequirements {
  const list = (r: ResourceList | undefined): Record<string, string> => {
    const out: Record<string, string> = {};
    if (r?.cpu !== undefined) out.cpu = r.cpu;
    if (r?.mem !== undefined) out.memory = r.mem;
    const storage = r?.ephemeralStorage ?? r?.storage;
    if (storage !== undefined) out["ephemeral-storage"] = storage;
    return out;
  };
  const requests = list(task.resources.requests);
  const limits = list(task.resources.limits);
  const gpu = task.resources.limits?.gpu ?? task.resources.requests?.gpu;
  if (gpu !== undefined) {
    requests[gpuResource] = gpu;
    limits[gpuResource] = gpu;
  }
  const out: V1ResourceRequirements = {};
  if (Object.keys(requests).length > 0) out.requests = requests;
  if (Object.keys(limits).length > 0) out.limits = limits;
  return out;
}

/**
 * The pod of an attempt. Secrets are mounted with `envFrom: secretRef`: every key
 * of each named Secret (in the pod's namespace) becomes an environment variable.
 * The environment is the runner's `env`, then the task's, then the runtime
 * protocol's variables, so a task cannot redirect its own report.
 */
export function buildPod(request: { assignment: AttemptAssignment; task: TaskSpec }, context: PodContext, options: CompiledKubernetesPodOptions): V1Pod {
  const { assignment, task } = request;
  const interruptible = runsInterruptible(task, assignment);
  const variables: Record<string, string> = {
    ...options.env,
    ...task.env,
    [RUNTIME_ENV.endpoint]: context.endpoint,
    [RUNTIME_ENV.token]: context.token,
    [RUNTIME_ENV.assignment]: JSON.stringify(assignment),
    [RUNTIME_ENV.home]: options.podHome,
    [RUNTIME_OPTIONAL_ENV.attemptId]: attemptId(assignment),
  };
  const env: V1EnvVar[] = Object.entries(variables).map(([name, value]) => ({ name, value }));
  const resources = resourcesOf(task, options.gpuResource);
  const placement = interruptible && options.interruptible ? options.interruptible : undefined;
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: context.name,
      namespace: context.namespace,
      labels: podLabels(assignment, interruptible),
      annotations: podAnnotations(assignment),
      ...(context.owner ? { ownerReferences: [context.owner] } : {}),
    },
    spec: {
      restartPolicy: "Never",
      // The runtime talks to the backend, not to the Kubernetes API: no token unless a service account is asked for.
      automountServiceAccountToken: options.serviceAccountName !== undefined,
      ...(options.serviceAccountName !== undefined ? { serviceAccountName: options.serviceAccountName } : {}),
      // Service links would put a variable per Service of the namespace into the task's environment.
      enableServiceLinks: false,
      terminationGracePeriodSeconds: ABORT_GRACE_SECONDS,
      ...(assignment.timeoutMs !== undefined || task.timeoutMs !== undefined
        ? { activeDeadlineSeconds: Math.ceil((assignment.timeoutMs ?? task.timeoutMs!) / 1000) + DEADLINE_GRACE_SECONDS }
        : {}),
      ...(placement && placement.tolerations.length > 0 ? { tolerations: placement.tolerations } : {}),
      ...(placement && Object.keys(placement.nodeSelector).length > 0 ? { nodeSelector: placement.nodeSelector } : {}),
      containers: [
        {
          name: CONTAINER_NAME,
          image: imageOf(task, assignment, options),
          command: [...options.runtimeCommand],
          env,
          ...(task.secrets.length > 0 ? { envFrom: task.secrets.map((name) => ({ secretRef: { name } })) } : {}),
          ...(Object.keys(resources).length > 0 ? { resources } : {}),
          volumeMounts: [{ name: HOME_VOLUME, mountPath: options.podHome }],
          // The tail of the log is the termination message of a container that failed without writing one.
          terminationMessagePolicy: "FallbackToLogsOnError",
        },
      ],
      volumes: [{ name: HOME_VOLUME, emptyDir: {} }],
    },
  };
}
