/** Options of the kubernetes-pod runner, compiled once into a complete object. */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { KubeConfig, type V1Toleration } from "@kubernetes/client-node";

/** Where every pod's namespace comes from unless `namespace` says otherwise. */
export const DEFAULT_NAMESPACE_TEMPLATE = "petrel-{project}-{domain}";
/** The container command of the default runtime image. */
export const DEFAULT_RUNTIME_COMMAND: readonly string[] = ["node", "/opt/petrel/dist/kernel/runtime/main.js"];
/** The extended resource a task's `gpu` quantity asks for. */
export const DEFAULT_GPU_RESOURCE = "nvidia.com/gpu";
/** Pod creations per second (a token bucket holding one second's worth). */
export const DEFAULT_MAX_CREATES_PER_SECOND = 50;
/** Pods created but not yet scheduled before further launches wait in the queue. */
export const DEFAULT_MAX_PENDING_PODS = 100;
/** A pod that stays Unschedulable this long fails as a system error. */
export const DEFAULT_UNSCHEDULABLE_DEADLINE_MS = 10 * 60_000;
/** An image that cannot be pulled (or a container config that cannot be made, e.g. a missing Secret) for this long fails the attempt. */
export const DEFAULT_IMAGE_PULL_GRACE_MS = 2 * 60_000;
/** Pods of attempts that nobody claims (launch or re-attach) this long after their namespace was first listed are deleted. */
export const DEFAULT_ORPHAN_GRACE_MS = 10 * 60_000;
/** An execution's anchor ConfigMap is deleted once none of its attempts has run for this long. */
export const DEFAULT_ANCHOR_IDLE_MS = 5 * 60_000;
/**
 * PETREL_HOME inside the pod: an emptyDir (bundles and work files never need a writable
 * image), inside the runtime image's install so bundles written there resolve its node_modules.
 */
export const DEFAULT_POD_HOME = "/opt/petrel/.petrel";

/** Options of {@link createKubernetesPodRunner}; all optional. */
export interface KubernetesPodRunnerOptions {
  /**
   * The cluster: a KubeConfig, or a kubeconfig file path. Default: the in-cluster
   * service account when KUBERNETES_SERVICE_HOST is set, else `$KUBECONFIG` or `~/.kube/config`.
   */
  kubeConfig?: KubeConfig | string;
  /**
   * The namespace of a project-domain pair: a template where `{project}` and
   * `{domain}` are substituted, then lowercased and made a DNS-1123 label
   * (default `petrel-{project}-{domain}`). Created when absent.
   */
  namespace?: string;
  /** The runtime image of tasks that name none (default `petrel/runtime:<package version>`). */
  image?: string;
  /** A per-project-domain image, over `image`; a task's own `image` wins over both. */
  imageFor?: (project: string, domain: string) => string | undefined;
  /** The container command: the runtime's entrypoint in the image (default `["node", "/opt/petrel/dist/kernel/runtime/main.js"]`). */
  runtimeCommand?: string[];
  /** The extended resource name of a task's `gpu` quantity (default `nvidia.com/gpu`). */
  gpuResource?: string;
  /** Tolerations and node selector for interruptible tasks (spot capacity), applied to every attempt but the last. */
  interruptible?: { tolerations?: V1Toleration[]; nodeSelector?: Record<string, string> };
  /** The pods' service account (default: none, and no API token is mounted). */
  serviceAccountName?: string;
  /** Environment for every pod; a task's own `env` comes on top, the runtime protocol's variables last. */
  env?: Record<string, string>;
  /** Most pod creations per second (token bucket; default 50). */
  maxCreatesPerSecond?: number;
  /** Most pods created and not yet scheduled; further launches wait in a FIFO queue (default 100). */
  maxPendingPods?: number;
  /** A pod Unschedulable longer than this fails as a system error (default 10 min). */
  unschedulableDeadlineMs?: number;
  /** ErrImagePull / ImagePullBackOff (or CreateContainerConfigError) longer than this fails the attempt as rejected (default 2 min). */
  imagePullGraceMs?: number;
  /** Delete a pod once its outcome is recorded (default true; false keeps pods for debugging). */
  deletePods?: boolean;
  /**
   * Where the log of a pod is saved before the pod is deleted, so `logs()` still
   * has it afterwards (`<logDir>/<project>/<domain>/<execution>/<node>/<attempt>.log`).
   * Default: none (a deleted pod's log is gone).
   */
  logDir?: string;
  /** Most bytes of a pod's log saved to `logDir` (default 10 MiB, the runtime's own cap). */
  maxLogBytes?: number;
  /** Pods of attempts nobody claims this long after their namespace was first listed are deleted (default 10 min). */
  orphanGraceMs?: number;
  /** An execution's anchor ConfigMap is deleted once none of its attempts has run for this long (default 5 min; never with `deletePods: false`). */
  anchorIdleMs?: number;
  /** PETREL_HOME in the pod, an emptyDir mount (default `/opt/petrel/.petrel`, beside the image's node_modules). */
  podHome?: string;
  /** Unexpected errors (a watch that fails, a pod that cannot be deleted); default: console.error. */
  onError?: (error: unknown, context: string) => void;
}

/** The complete settings the runner works with. */
export interface CompiledKubernetesPodOptions {
  kubeConfig: KubeConfig;
  namespaceTemplate: string;
  image: string;
  imageFor: ((project: string, domain: string) => string | undefined) | undefined;
  runtimeCommand: string[];
  gpuResource: string;
  interruptible: { tolerations: V1Toleration[]; nodeSelector: Record<string, string> } | undefined;
  serviceAccountName: string | undefined;
  env: Record<string, string>;
  maxCreatesPerSecond: number;
  maxPendingPods: number;
  unschedulableDeadlineMs: number;
  imagePullGraceMs: number;
  deletePods: boolean;
  logDir: string | undefined;
  maxLogBytes: number;
  orphanGraceMs: number;
  anchorIdleMs: number;
  podHome: string;
  onError: (error: unknown, context: string) => void;
}

/** Checks options and fills in every default; errors name the option. */
export function compileKubernetesPodOptions(options: KubernetesPodRunnerOptions = {}): CompiledKubernetesPodOptions {
  const positive = (value: number | undefined, name: string, fallback: number, integer = true): number => {
    if (value === undefined) return fallback;
    if (!(typeof value === "number" && value > 0 && Number.isFinite(value) && (!integer || Number.isSafeInteger(value)))) {
      throw new RangeError(`kubernetes-pod runner: ${name} must be a positive ${integer ? "integer" : "number"}, got ${JSON.stringify(value)}`);
    }
    return value;
  };
  const template = options.namespace ?? DEFAULT_NAMESPACE_TEMPLATE;
  if (template.trim() === "") throw new RangeError("kubernetes-pod runner: namespace must be a non-empty template such as petrel-{project}-{domain}");
  const command = options.runtimeCommand ?? [...DEFAULT_RUNTIME_COMMAND];
  if (command.length === 0 || command.some((part) => typeof part !== "string" || part === "")) {
    throw new RangeError(`kubernetes-pod runner: runtimeCommand must be a non-empty list of non-empty strings, got ${JSON.stringify(options.runtimeCommand)}`);
  }
  for (const [name, value] of Object.entries(options.env ?? {})) {
    if (typeof value !== "string") throw new RangeError(`kubernetes-pod runner: env.${name} must be a string, got ${JSON.stringify(value)}`);
  }
  return {
    kubeConfig: loadKubeConfig(options.kubeConfig),
    namespaceTemplate: template,
    image: options.image ?? `petrel/runtime:${packageVersion()}`,
    imageFor: options.imageFor,
    runtimeCommand: command,
    gpuResource: options.gpuResource ?? DEFAULT_GPU_RESOURCE,
    interruptible: options.interruptible ? { tolerations: options.interruptible.tolerations ?? [], nodeSelector: options.interruptible.nodeSelector ?? {} } : undefined,
    serviceAccountName: options.serviceAccountName,
    env: { ...options.env },
    maxCreatesPerSecond: positive(options.maxCreatesPerSecond, "maxCreatesPerSecond", DEFAULT_MAX_CREATES_PER_SECOND, false),
    maxPendingPods: positive(options.maxPendingPods, "maxPendingPods", DEFAULT_MAX_PENDING_PODS),
    unschedulableDeadlineMs: positive(options.unschedulableDeadlineMs, "unschedulableDeadlineMs", DEFAULT_UNSCHEDULABLE_DEADLINE_MS),
    imagePullGraceMs: positive(options.imagePullGraceMs, "imagePullGraceMs", DEFAULT_IMAGE_PULL_GRACE_MS),
    deletePods: options.deletePods ?? true,
    logDir: options.logDir !== undefined ? resolve(options.logDir) : undefined,
    maxLogBytes: positive(options.maxLogBytes, "maxLogBytes", 10 * 1024 * 1024),
    orphanGraceMs: positive(options.orphanGraceMs, "orphanGraceMs", DEFAULT_ORPHAN_GRACE_MS),
    anchorIdleMs: positive(options.anchorIdleMs, "anchorIdleMs", DEFAULT_ANCHOR_IDLE_MS),
    podHome: options.podHome ?? DEFAULT_POD_HOME,
    onError: options.onError ?? ((error, context) => console.error(`[petrel] kubernetes-pod runner: ${context}:`, error)),
  };
}

/** The cluster's configuration: given, from a file, in-cluster, or the default kubeconfig. */
export function loadKubeConfig(source: KubeConfig | string | undefined): KubeConfig {
  if (source instanceof KubeConfig) return source;
  const kc = new KubeConfig();
  if (typeof source === "string") {
    if (!existsSync(source)) throw new RangeError(`kubernetes-pod runner: kubeConfig ${source} does not exist`);
    kc.loadFromFile(source);
  } else if (process.env.KUBERNETES_SERVICE_HOST) {
    kc.loadFromCluster();
  } else {
    kc.loadFromDefault();
  }
  if (!kc.getCurrentCluster()) throw new RangeError(`kubernetes-pod runner: the kubeconfig${typeof source === "string" ? ` ${source}` : ""} has no current cluster`);
  return kc;
}

/** Petrel's own version, for the default image tag: from the nearest package.json named petrel above this file. */
function packageVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const file = join(dir, "package.json");
    if (existsSync(file)) {
      try {
        const pj = JSON.parse(readFileSync(file, "utf8")) as { name?: string; version?: string };
        if (pj.name === "petrel" && pj.version) return pj.version;
      } catch {
        // not ours; keep looking
      }
    }
    const up = dirname(dir);
    if (up === dir) return "latest";
    dir = up;
  }
}
