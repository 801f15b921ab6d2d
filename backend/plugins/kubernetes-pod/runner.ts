/**
 * The kubernetes-pod runner: one pod per attempt running kernel/runtime, which
 * fetches its bundle and inputs from the backend with a node-scoped token, runs
 * the task and reports its outcome over HTTP. The runner creates pods (rate
 * limited, with backpressure), watches them, tells the engine how they ended
 * when the runtime could not, aborts them, reads their logs and cleans them up.
 *
 * Launch. `launch` resolves as soon as the attempt is queued; its handle
 * (`<namespace>/<pod>`) is final from the start, since pod names are
 * deterministic per attempt. A FIFO queue creates pods at most
 * `maxCreatesPerSecond` (token bucket) while fewer than `maxPendingPods` are
 * created but unscheduled. Before its first pod in a namespace the runner makes
 * sure the namespace exists (creating it), and before an execution's first pod,
 * its anchor ConfigMap. A create that meets 409 AlreadyExists adopts the pod when
 * its annotations name this attempt (a relaunch after a crash); 429 and 5xx are
 * retried with backoff; a ResourceQuota's 403 is waited out like an
 * unschedulable pod; any other refusal (422 invalid spec, 403 forbidden) fails
 * the attempt as `rejected` with the cluster's message, leaving no pod behind.
 *
 * Owner link. Every pod of an execution has an ownerReference to the
 * execution's anchor ConfigMap (`petrel-exec-<execution>-<hash>`, labelled
 * `app.kubernetes.io/managed-by=petrel`), so deleting the anchor makes the
 * cluster's garbage collector delete every pod of the execution, whatever
 * happened to the backend. The runner deletes an anchor once the execution has
 * had no attempt for a while (with `deletePods: false` it keeps them, so the
 * pods stay for debugging); `kubectl delete configmap -l petrel.dev/execution=<name>`
 * cleans an execution up by hand.
 *
 * Watching. Per namespace, the runner lists its pods by label and watches from
 * the list's resourceVersion, relisting on 410 Gone or errors (see watcher.ts).
 * What a pod's status means is read in classify.ts: exit 0 → `exited` (the
 * runtime reported first), another code → `exited` (a user error) or `oom`
 * (OOMKilled), DeadlineExceeded → `timeout`, eviction, preemption, node shutdown,
 * deletion by someone else, a container killed by SIGKILL (137, not OOMKilled) or
 * a runtime that could not report (exit 3) → `lost`
 * (a system error, retried on the system budget); an image that
 * cannot be pulled or a container that cannot be made (a missing Secret) for
 * longer than `imagePullGraceMs`, or a command the image lacks (StartError) →
 * `rejected` (a user error no retry fixes), unschedulable for longer than
 * `unschedulableDeadlineMs` → `lost`, both with the cluster's reason and message.
 * A pod that ended on its own is deleted once its exit is reported (unless
 * `deletePods: false`), after its log is saved to `logDir` when there is one; a
 * pod the runner gives up on (or aborts) is always deleted, so it cannot start later.
 *
 * Restarts. `close` stops watching and leaves pods running: they report over
 * HTTP, and a restarted backend re-attaches (`reattach` finds the pod by name
 * and checks its attempt annotation). Pods nobody claims — by launch or
 * re-attach — for `orphanGraceMs` after their namespace was first listed are
 * deleted (an attempt the engine gave up on during the restart); `reconcile()`
 * does it at once for pods that have ended. Only namespaces the runner has
 * launched into or re-attached in since it started are looked at, and with
 * `deletePods: false` nothing is deleted.
 *
 * Secrets are mounted with `envFrom: secretRef` (every key of each named Secret
 * in the pod's namespace becomes an environment variable). The node token is in
 * the pod's environment (PETREL_TOKEN): whoever may read pods in the namespace
 * may read it; it opens only that one node of that one execution.
 */
import { CoreV1Api, Watch, type V1OwnerReference, type V1Pod } from "@kubernetes/client-node";
import { attemptId, type AttemptAssignment } from "../../../kernel/runtime/index.js";
import type { RunnerHandle } from "../../store/index.js";
import { logPath } from "../logs.js";
import type { AttemptExit, LaunchRequest, LogReadOptions, RunnerCapabilities, RunnerEvent, TaskRunner } from "../types.js";
import { apiFailure, describeFailure, isQuotaExceeded, isTransient, type ApiFailure } from "./api-errors.js";
import { readPod, isScheduled, type PodProblem } from "./classify.js";
import { anchorNameFor, LABELS, labelValue, MANAGED_BY, MANAGED_SELECTOR, namespaceFor, podBelongsTo, podNameFor, ANNOTATIONS } from "./names.js";
import { compileKubernetesPodOptions, type CompiledKubernetesPodOptions, type KubernetesPodRunnerOptions } from "./options.js";
import { archivePodLog, readPodLog } from "./pod-logs.js";
import { ABORT_GRACE_SECONDS, buildPod } from "./pod-spec.js";
import { backoffMs, TokenBucket } from "./rate-limit.js";
import { NamespaceWatch } from "./watcher.js";
import { keepAliveAgents } from "./keep-alive.js";

/** The runner's kind, in handles and configuration. */
export const KUBERNETES_POD_RUNNER = "kubernetes-pod";

/** Transient API failures (429, 5xx, no answer) are retried this many times before an attempt is given up as lost. */
const MAX_TRANSIENT_RETRIES = 8;
const RETRY_BASE_MS = 200;
const RETRY_MAX_MS = 10_000;

/** What `reconcile()` did. */
export interface ReconcileReport {
  /** Pods of attempts this runner tracks (launched or re-attached). */
  tracked: string[];
  /** Pods nobody claimed that were deleted (`<namespace>/<pod>`). */
  deleted: string[];
  /** Pods nobody claimed (yet) that were left alone: still running within the grace period, or `deletePods` is false. */
  kept: string[];
}

/** The kubernetes-pod runner, with its housekeeping. */
export interface KubernetesPodRunner extends TaskRunner {
  /**
   * Deletes the pods of the watched namespaces that no attempt claims: at once
   * for pods that have ended, after `orphanGraceMs` for running ones (an engine
   * restarting re-attaches its attempts well within it). Runs by itself too.
   */
  reconcile(): Promise<ReconcileReport>;
}

/** An attempt's pod, from launch (or re-attach) to its exit. */
interface PodAttempt {
  key: string;
  assignment: AttemptAssignment;
  namespace: string;
  pod: string;
  /** `<namespace>/<anchor>`: the execution, for anchors and their idle timers. */
  execution: string;
  memoryLimit: string | undefined;
  state: "queued" | "creating" | "created" | "ended";
  /** Counted against maxPendingPods (created or being created, not yet scheduled). */
  pending: boolean;
  /** When its create call returned (Date.now()); 0 for a pod found existing. */
  createdAt?: number;
  /** The pod (without its owner reference) while queued. */
  body?: V1Pod;
  /** The runner is deleting the pod (after its exit, or to abort it). */
  deleting: boolean;
  /** The deletion under way, once there is one. */
  deletion?: Promise<void>;
  /** Someone else started deleting the pod. */
  deletedByOthers: boolean;
  /** Aborted before its create call returned: the pod, if the call made one, is deleted at once. */
  cancelled: boolean;
  problem?: PodProblem & { since: number; timer?: NodeJS.Timeout };
  lastPod?: V1Pod;
}

/** A pod no attempt claims. */
interface Unclaimed {
  namespace: string;
  name: string;
  firstSeen: number;
  ended: boolean;
  execution: string | undefined;
}

/** An attempt ends with this exit: thrown inside the create path. */
class AttemptEnd extends Error {
  constructor(readonly exit: AttemptExit) {
    super(exit.message);
  }
}

/**
 * Creates the kubernetes-pod runner.
 *
 * @example
 * ```ts
 * const runner = createKubernetesPodRunner({ kubeConfig: "/etc/petrel/kubeconfig", image: "registry.example.com/petrel-runtime:1.2" });
 * runner.onEvent((event) => console.log(event.type, event.assignment.node));
 * const handle = await runner.launch({ assignment, task, inputs, endpoint: "http://petrel.petrel.svc:8470", token });
 * handle.id; // "petrel-demo-development/x1-train-a0-3f9c2e1a7b"
 * ```
 */
export function createKubernetesPodRunner(options: KubernetesPodRunnerOptions = {}): KubernetesPodRunner {
  return new KubernetesPodRunnerImpl(compileKubernetesPodOptions(options));
}

class KubernetesPodRunnerImpl implements KubernetesPodRunner {
  readonly kind = KUBERNETES_POD_RUNNER;
  readonly capabilities: RunnerCapabilities = { reattach: true, memoryLimits: true, reportsOutcomes: false };
  private listener: ((event: RunnerEvent) => void) | undefined;
  private readonly api: CoreV1Api;
  private readonly watcher: Watch;
  /** Live attempts by attempt id. */
  private readonly attempts = new Map<string, PodAttempt>();
  /** Attempts by `<namespace>/<pod>`, including ended ones whose pod the runner is deleting. */
  private readonly byPod = new Map<string, PodAttempt>();
  private readonly queue: PodAttempt[] = [];
  private pendingCount = 0;
  private readonly bucket: TokenBucket;
  /** Creates waiting for a token, served in order. */
  private readonly tokenWaiters: (() => void)[] = [];
  private tokenTimer: NodeJS.Timeout | undefined;
  private readonly watches = new Map<string, NamespaceWatch>();
  private readonly namespaces = new Map<string, Promise<void>>();
  private readonly anchors = new Map<string, Promise<V1OwnerReference | undefined>>();
  /** Anchors being deleted: a new one is made only once the old one is gone (or a pod would get a dying owner). */
  private readonly anchorDeletions = new Map<string, Promise<void>>();
  /** Live attempts per execution, and the timers that delete idle anchors. */
  private readonly executionAttempts = new Map<string, number>();
  private readonly anchorTimers = new Map<string, NodeJS.Timeout>();
  private readonly unclaimed = new Map<string, Unclaimed>();
  private readonly sweepTimers = new Map<string, NodeJS.Timeout>();
  private readonly sleepers = new Set<() => void>();
  private anchorWarned = false;
  private closed = false;

  constructor(private readonly options: CompiledKubernetesPodOptions) {
    keepAliveAgents(options.kubeConfig);
    this.api = options.kubeConfig.makeApiClient(CoreV1Api);
    this.watcher = new Watch(options.kubeConfig);
    this.bucket = new TokenBucket(options.maxCreatesPerSecond);
  }

  onEvent(listener: (event: RunnerEvent) => void): void {
    this.listener = listener;
  }

  private emit(event: RunnerEvent): void {
    try {
      this.listener?.(event);
    } catch (e) {
      this.options.onError(e, `the event listener failed on ${event.type} of node ${event.assignment.node}`);
    }
  }

  // ---- launch ---------------------------------------------------------------------------

  async launch(request: LaunchRequest): Promise<RunnerHandle> {
    if (this.closed) throw new Error(`kubernetes-pod runner is closed: cannot launch attempt ${request.assignment.attempt} of node ${request.assignment.node}`);
    const { assignment } = request;
    const key = attemptId(assignment);
    const existing = this.attempts.get(key);
    if (existing) return this.handleOf(existing);
    const namespace = namespaceFor(this.options.namespaceTemplate, assignment.execution.project, assignment.execution.domain);
    const pod = podNameFor(assignment);
    // A pod reports over HTTP: it needs the node's token.
    const token = await request.token();
    const a = this.track(assignment, namespace, pod, request.task.resources.limits?.mem);
    a.body = buildPod(request, { namespace, name: pod, endpoint: request.endpoint, token }, this.options);
    this.queue.push(a);
    this.pump();
    return this.handleOf(a);
  }

  private handleOf(a: PodAttempt): RunnerHandle {
    return { kind: KUBERNETES_POD_RUNNER, id: `${a.namespace}/${a.pod}`, info: { namespace: a.namespace, pod: a.pod } };
  }

  private track(assignment: AttemptAssignment, namespace: string, pod: string, memoryLimit: string | undefined): PodAttempt {
    const a: PodAttempt = {
      key: attemptId(assignment),
      assignment,
      namespace,
      pod,
      execution: `${namespace}/${anchorNameFor(assignment.execution)}`,
      memoryLimit,
      state: "queued",
      pending: false,
      deleting: false,
      deletedByOthers: false,
      cancelled: false,
    };
    this.attempts.set(a.key, a);
    this.byPod.set(`${namespace}/${pod}`, a);
    this.unclaimed.delete(`${namespace}/${pod}`);
    this.executionAttempts.set(a.execution, (this.executionAttempts.get(a.execution) ?? 0) + 1);
    const idle = this.anchorTimers.get(a.execution);
    if (idle) clearTimeout(idle);
    this.anchorTimers.delete(a.execution);
    return a;
  }

  /** Starts creating queued pods, in arrival order, while fewer than maxPendingPods are pending. */
  private pump(): void {
    if (this.closed) return;
    while (this.queue.length > 0 && this.pendingCount < this.options.maxPendingPods) {
      const a = this.queue.shift()!;
      if (a.state !== "queued") continue;
      a.state = "creating";
      a.pending = true;
      this.pendingCount++;
      void this.create(a);
    }
  }

  /** Waits for the token bucket (in order): every create call, retries included, takes one. */
  private token(): Promise<void> {
    return new Promise((resolve) => {
      this.tokenWaiters.push(resolve);
      this.serveTokens();
    });
  }

  private serveTokens(): void {
    if (this.tokenTimer) return;
    while (this.tokenWaiters.length > 0) {
      const wait = this.closed ? 0 : this.bucket.take();
      if (wait > 0) {
        this.tokenTimer = setTimeout(() => {
          this.tokenTimer = undefined;
          this.serveTokens();
        }, wait);
        return;
      }
      this.tokenWaiters.shift()!();
    }
  }

  private releasePending(a: PodAttempt): void {
    if (!a.pending) return;
    a.pending = false;
    this.pendingCount--;
    this.pump();
  }

  /** Creates an attempt's pod (namespace and anchor first), retrying what is worth retrying. */
  private async create(a: PodAttempt): Promise<void> {
    const started = Date.now();
    let transient = 0;
    for (;;) {
      if (this.closed || hasEnded(a)) return;
      try {
        await this.ensureWatch(a.namespace);
        await this.ensureNamespace(a.namespace);
        const owner = await this.ensureAnchor(a);
        if (this.closed || hasEnded(a)) return;
        const body: V1Pod = owner ? { ...a.body!, metadata: { ...a.body!.metadata, ownerReferences: [owner] } } : a.body!;
        await this.token();
        if (this.closed || hasEnded(a)) return;
        let pod: V1Pod;
        try {
          pod = await this.api.createNamespacedPod({ namespace: a.namespace, body });
        } catch (e) {
          const failure = apiFailure(e);
          if (failure.status !== 409) throw e;
          pod = await this.api.readNamespacedPod({ name: a.pod, namespace: a.namespace });
          if (!podBelongsTo(pod.metadata, a.assignment)) {
            throw new AttemptEnd({ reason: "rejected", message: `a pod named ${a.namespace}/${a.pod} already exists and does not belong to attempt ${a.key} (its annotation ${ANNOTATIONS.attemptId} is ${JSON.stringify(pod.metadata?.annotations?.[ANNOTATIONS.attemptId] ?? null)})` });
          }
        }
        a.body = undefined;
        if (a.cancelled) {
          // Aborted while the create was on its way.
          await this.deletePod(a.namespace, a.pod, ABORT_GRACE_SECONDS);
          return;
        }
        // The watch may have seen the pod first, with a newer status than this reply's.
        if (a.state === "creating") this.observe(a, pod);
        return;
      } catch (e) {
        if (this.closed || hasEnded(a)) return;
        if (e instanceof AttemptEnd) {
          this.end(a, e.exit, "none");
          return;
        }
        const failure = apiFailure(e);
        const where = `pod ${a.namespace}/${a.pod}`;
        if (isQuotaExceeded(failure)) {
          const waited = Date.now() - started;
          if (waited < this.options.unschedulableDeadlineMs) {
            await this.sleep(Math.min(backoffMs(transient++, RETRY_BASE_MS * 5, RETRY_MAX_MS * 3), this.options.unschedulableDeadlineMs - waited));
            continue;
          }
          this.end(a, { reason: "lost", message: `the cluster refused ${where} for ${Math.round(waited / 1000)} s over its ResourceQuota: ${failure.message}` }, "none");
          return;
        }
        if (isTransient(failure)) {
          if (transient < MAX_TRANSIENT_RETRIES) {
            await this.sleep(failure.retryAfterMs ?? backoffMs(transient++, RETRY_BASE_MS, RETRY_MAX_MS));
            if (failure.retryAfterMs !== undefined) transient++;
            continue;
          }
          this.end(a, { reason: "lost", message: `could not create ${where} after ${transient + 1} tries: ${describeFailure(failure)}` }, "none");
          return;
        }
        if (failure.status === 404 && transient < MAX_TRANSIENT_RETRIES) {
          // The namespace went away after it was checked: check (and create) it again.
          this.namespaces.delete(a.namespace);
          transient++;
          continue;
        }
        this.end(a, { reason: "rejected", message: `the cluster refused ${where}: ${describeFailure(failure)}` }, "none");
        return;
      }
    }
  }

  /** Makes sure the namespace exists: read it, create it when absent. 403 on reading is left to the pod's create to explain. */
  private ensureNamespace(namespace: string): Promise<void> {
    let ready = this.namespaces.get(namespace);
    if (!ready) {
      ready = (async () => {
        try {
          await this.api.readNamespace({ name: namespace });
          return;
        } catch (e) {
          const failure = apiFailure(e);
          if (failure.status === 403) return;
          if (failure.status !== 404) throw e;
        }
        try {
          await this.api.createNamespace({ body: { metadata: { name: namespace, labels: { [LABELS.managedBy]: MANAGED_BY } } } });
        } catch (e) {
          const failure = apiFailure(e);
          if (failure.status === 409) return;
          if (!isTransient(failure)) throw new AttemptEnd({ reason: "rejected", message: `namespace ${namespace} does not exist and the cluster refused to create it: ${describeFailure(failure)}` });
          throw e;
        }
      })();
      this.namespaces.set(namespace, ready);
      // A failure is not remembered: the next launch tries again.
      ready.catch(() => this.namespaces.delete(namespace));
    }
    return ready;
  }

  /** The owner reference to the execution's anchor ConfigMap, creating the anchor on first use. */
  private ensureAnchor(a: PodAttempt): Promise<V1OwnerReference | undefined> {
    let owner = this.anchors.get(a.execution);
    if (!owner) {
      const name = anchorNameFor(a.assignment.execution);
      const { project, domain, name: execution } = a.assignment.execution;
      const deleting = this.anchorDeletions.get(a.execution);
      owner = (async () => {
        await deleting;
        let uid: string | undefined;
        try {
          const created = await this.api.createNamespacedConfigMap({
            namespace: a.namespace,
            body: {
              metadata: {
                name,
                labels: {
                  [LABELS.managedBy]: MANAGED_BY,
                  [LABELS.component]: "execution-anchor",
                  [LABELS.project]: labelValue(project),
                  [LABELS.domain]: labelValue(domain),
                  [LABELS.execution]: labelValue(execution),
                },
                annotations: { [ANNOTATIONS.project]: project, [ANNOTATIONS.domain]: domain, [ANNOTATIONS.execution]: execution },
              },
              data: { project, domain, execution, note: "Owns the pods of this Petrel execution: deleting it deletes them." },
            },
          });
          uid = created.metadata?.uid;
        } catch (e) {
          const failure = apiFailure(e);
          if (failure.status === 409) uid = (await this.api.readNamespacedConfigMap({ name, namespace: a.namespace })).metadata?.uid;
          else if (failure.status === 403) {
            if (!this.anchorWarned) {
              this.anchorWarned = true;
              this.options.onError(new Error(`cannot create ConfigMaps in ${a.namespace} (${failure.message}); pods get no owner reference, so only the runner cleans them up`), "creating an execution anchor");
            }
            return undefined;
          } else throw e;
        }
        return uid ? { apiVersion: "v1", kind: "ConfigMap", name, uid, controller: false, blockOwnerDeletion: false } : undefined;
      })();
      this.anchors.set(a.execution, owner);
      owner.catch(() => this.anchors.delete(a.execution));
    }
    return owner;
  }

  // ---- watching -------------------------------------------------------------------------

  private ensureWatch(namespace: string): Promise<void> {
    let watch = this.watches.get(namespace);
    if (!watch) {
      watch = new NamespaceWatch(this.api, this.watcher, namespace, MANAGED_SELECTOR, {
        pod: (type, pod) => this.onPod(namespace, type, pod),
        listed: (names, requestedAt) => this.onListed(namespace, names, requestedAt),
        error: (error, context) => this.options.onError(error, context),
      });
      this.watches.set(namespace, watch);
    }
    return watch.start();
  }

  private onPod(namespace: string, type: "LISTED" | "ADDED" | "MODIFIED" | "DELETED", pod: V1Pod): void {
    const name = pod.metadata?.name;
    if (!name || this.closed) return;
    const podKey = `${namespace}/${name}`;
    const a = this.byPod.get(podKey);
    if (!a) {
      this.noteUnclaimed(namespace, name, type, pod);
      return;
    }
    if (type === "DELETED") {
      if (a.state === "ended" || a.deleting) {
        if (this.byPod.get(podKey) === a) this.byPod.delete(podKey);
        return;
      }
      if (a.state !== "created" && a.state !== "creating") return;
      this.gone(a, pod);
      return;
    }
    if (a.state === "ended" || a.state === "queued") return;
    if (!podBelongsTo(pod.metadata, a.assignment)) return;
    this.observe(a, pod);
  }

  /** A relist: attempts whose pod it lacks (and that existed before it was requested) are gone. */
  private onListed(namespace: string, names: ReadonlySet<string>, requestedAt: number): void {
    for (const a of [...this.attempts.values()]) {
      if (a.namespace !== namespace || a.state !== "created" || names.has(a.pod)) continue;
      if ((a.createdAt ?? 0) >= requestedAt) continue;
      this.gone(a, a.lastPod);
    }
    for (const [key, u] of this.unclaimed) if (u.namespace === namespace && !names.has(u.name)) this.unclaimed.delete(key);
    if (!this.sweepTimers.has(namespace)) this.scheduleSweep(namespace, this.options.orphanGraceMs);
  }

  /** What the pod's status says, acted on. */
  private observe(a: PodAttempt, pod: V1Pod): void {
    if (a.state === "ended") return;
    if (a.state === "creating") {
      a.state = "created";
      a.createdAt ??= Date.now();
    }
    a.lastPod = pod;
    if (pod.metadata?.deletionTimestamp && !a.deleting) a.deletedByOthers = true;
    const reading = readPod(pod, { ...(a.memoryLimit ? { memoryLimit: a.memoryLimit } : {}), deletedByOthers: a.deletedByOthers });
    if (reading.state !== "pending" || reading.scheduled) this.releasePending(a);
    if (reading.state === "ended") {
      this.end(a, reading.exit, this.options.deletePods ? "delete" : "keep");
      return;
    }
    if (reading.state === "pending" && reading.problem) this.problem(a, reading.problem);
    else this.clearProblem(a);
  }

  /** The pod is gone (deleted, or missing from a relist) before the runner saw it end. */
  private gone(a: PodAttempt, last: V1Pod | undefined): void {
    const reading = last ? readPod(last, { ...(a.memoryLimit ? { memoryLimit: a.memoryLimit } : {}), deletedByOthers: true }) : undefined;
    this.anchors.delete(a.execution); // the anchor may have gone with it (deleted by hand): check it again on the next launch
    if (reading?.state === "ended") this.end(a, reading.exit, "none");
    else this.end(a, { reason: "lost", message: `pod ${a.namespace}/${a.pod} was deleted by someone other than petrel before it ended` }, "none");
  }

  /** A pod that cannot start: waited for up to its grace period, then given up. */
  private problem(a: PodAttempt, problem: PodProblem): void {
    if (a.problem && a.problem.kind !== problem.kind) this.clearProblem(a);
    const now = Date.now();
    a.problem = { ...problem, since: a.problem?.since ?? now, ...(a.problem?.timer ? { timer: a.problem.timer } : {}) };
    const limit = problem.kind === "unschedulable" ? this.options.unschedulableDeadlineMs : this.options.imagePullGraceMs;
    const waited = now - a.problem.since;
    if (problem.final || waited >= limit) {
      const where = `pod ${a.namespace}/${a.pod}`;
      const said = `${problem.reason}${problem.message ? `: ${problem.message}` : ""}`;
      const after = problem.final ? "" : ` for ${formatDuration(waited)}`;
      const exit: AttemptExit =
        problem.kind === "unschedulable"
          ? { reason: "lost", message: `${where} could not be scheduled${after} (${said})` }
          : problem.kind === "image"
            ? { reason: "rejected", message: `the image of ${where} (${imageOfPod(a.lastPod)}) could not be pulled${after} (${said})` }
            : { reason: "rejected", message: `the container of ${where} could not be created${after} (${said})` };
      this.end(a, exit, "stop");
      return;
    }
    if (!a.problem.timer) {
      a.problem.timer = setTimeout(() => {
        if (a.problem) a.problem.timer = undefined;
        if (a.state !== "ended" && a.lastPod) this.observe(a, a.lastPod);
      }, limit - waited + 1);
      a.problem.timer.unref();
    }
  }

  private clearProblem(a: PodAttempt): void {
    if (a.problem?.timer) clearTimeout(a.problem.timer);
    a.problem = undefined;
  }

  /**
   * Reports an attempt's exit, once, then sees to its pod: `delete` it once it
   * ended on its own (its log saved first), `stop` a pod that still runs or waits
   * (aborted, given up on), `keep` it for debugging, or `none` when there is none.
   */
  private end(a: PodAttempt, exit: AttemptExit, pod: "delete" | "stop" | "keep" | "none"): void {
    if (a.state === "ended") return;
    const hadPod = a.state === "created";
    a.state = "ended";
    a.body = undefined;
    this.clearProblem(a);
    this.releasePending(a);
    if (this.attempts.get(a.key) === a) this.attempts.delete(a.key);
    this.emit({ type: "exit", assignment: a.assignment, exit });
    if ((pod === "delete" || pod === "stop") && hadPod) {
      a.deleting = true;
      a.deletion = this.archiveAndDelete(a, pod === "delete");
    } else if (this.byPod.get(`${a.namespace}/${a.pod}`) === a) {
      this.byPod.delete(`${a.namespace}/${a.pod}`);
    }
    this.executionIdle(a.execution);
  }

  private async archiveAndDelete(a: PodAttempt, ended: boolean): Promise<void> {
    const podKey = `${a.namespace}/${a.pod}`;
    try {
      if (this.options.logDir && ended) {
        await archivePodLog(this.api, a.namespace, a.pod, logPath(this.options.logDir, a.assignment), this.options.maxLogBytes).catch((e: unknown) =>
          this.options.onError(e, `saving the log of pod ${podKey}`),
        );
      }
      await this.deletePod(a.namespace, a.pod, ended ? 0 : ABORT_GRACE_SECONDS);
    } finally {
      // Its DELETED event may never come (the watch may be between connections): forget it either way.
      if (this.byPod.get(podKey) === a) this.byPod.delete(podKey);
    }
  }

  /** Deletes a pod (404 is fine), retrying transient failures. */
  private async deletePod(namespace: string, pod: string, gracePeriodSeconds: number): Promise<boolean> {
    for (let tries = 0; ; tries++) {
      try {
        await this.api.deleteNamespacedPod({ name: pod, namespace, gracePeriodSeconds, propagationPolicy: "Background" });
        return true;
      } catch (e) {
        const failure = apiFailure(e);
        if (failure.status === 404) return false;
        if (isTransient(failure) && tries < MAX_TRANSIENT_RETRIES && !this.closed) {
          await this.sleep(failure.retryAfterMs ?? backoffMs(tries, RETRY_BASE_MS, RETRY_MAX_MS));
          continue;
        }
        this.options.onError(new Error(`deleting pod ${namespace}/${pod} failed: ${describeFailure(failure)}`), "deleting a pod");
        return false;
      }
    }
  }

  /** One fewer live attempt in an execution; with none left for a while, its anchor goes (and with it any pod left over). */
  private executionIdle(execution: string): void {
    const left = (this.executionAttempts.get(execution) ?? 1) - 1;
    if (left > 0) {
      this.executionAttempts.set(execution, left);
      return;
    }
    this.executionAttempts.delete(execution);
    if (!this.options.deletePods || this.closed || this.anchorTimers.has(execution)) return;
    const timer = setTimeout(() => {
      this.anchorTimers.delete(execution);
      if (this.executionAttempts.has(execution) || this.closed) return;
      this.anchors.delete(execution);
      const [namespace, name] = execution.split("/") as [string, string];
      const deletion = this.api
        .deleteNamespacedConfigMap({ name, namespace, propagationPolicy: "Background" })
        .then(
          () => undefined,
          (e: unknown) => {
            const failure = apiFailure(e);
            if (failure.status !== 404) this.options.onError(new Error(`deleting the anchor ConfigMap ${execution} failed: ${describeFailure(failure)}`), "deleting an execution anchor");
          },
        )
        .finally(() => {
          if (this.anchorDeletions.get(execution) === deletion) this.anchorDeletions.delete(execution);
        });
      this.anchorDeletions.set(execution, deletion);
    }, this.options.anchorIdleMs);
    timer.unref();
    this.anchorTimers.set(execution, timer);
  }

  // ---- re-attach, abort, logs -----------------------------------------------------------

  async reattach(assignment: AttemptAssignment, handle: RunnerHandle): Promise<boolean> {
    if (this.closed || handle.kind !== KUBERNETES_POD_RUNNER) return false;
    const key = attemptId(assignment);
    if (this.attempts.has(key)) return true;
    const where = podOfHandle(handle);
    if (!where) return false;
    let pod: V1Pod;
    try {
      pod = await this.withRetries(() => this.api.readNamespacedPod({ name: where.pod, namespace: where.namespace }));
    } catch (e) {
      if (apiFailure(e).status === 404) return false;
      throw e;
    }
    if (this.closed || !podBelongsTo(pod.metadata, assignment)) return false;
    if (this.attempts.has(key)) return true;
    const memory = pod.spec?.containers?.[0]?.resources?.limits?.memory;
    const a = this.track(assignment, where.namespace, where.pod, memory);
    a.state = "created";
    a.createdAt = 0;
    if (!isScheduled(pod)) {
      a.pending = true;
      this.pendingCount++;
    }
    void this.ensureWatch(where.namespace);
    this.observe(a, pod);
    return true;
  }

  async abort(assignment: AttemptAssignment, handle: RunnerHandle, reason: string): Promise<void> {
    const message = `the attempt was aborted: ${reason}`;
    const a = this.attempts.get(attemptId(assignment));
    if (!a) {
      // Not tracked (the backend restarted, or it already ended): delete its pod anyway.
      const where = podOfHandle(handle);
      const existed = where && handle.kind === KUBERNETES_POD_RUNNER ? await this.deletePod(where.namespace, where.pod, ABORT_GRACE_SECONDS) : false;
      this.emit({ type: "exit", assignment, exit: { reason: "aborted", message: `${message}${existed ? "" : " (it was not running)"}` } });
      return;
    }
    if (a.state === "queued") {
      this.end(a, { reason: "aborted", message: `${message} (before its pod was created)` }, "none");
      return;
    }
    if (a.state === "creating") {
      // The create path deletes the pod if its create call succeeds after all.
      a.cancelled = true;
      this.end(a, { reason: "aborted", message }, "none");
      return;
    }
    this.end(a, { reason: "aborted", message }, "stop");
    // Resolves once the pod is being deleted.
    await a.deletion;
  }

  logs(assignment: AttemptAssignment, handle: RunnerHandle, options: LogReadOptions = {}): AsyncIterable<Uint8Array> {
    const where = podOfHandle(handle) ?? { namespace: namespaceFor(this.options.namespaceTemplate, assignment.execution.project, assignment.execution.domain), pod: podNameFor(assignment) };
    const key = attemptId(assignment);
    return readPodLog(
      {
        api: this.api,
        kubeConfig: this.options.kubeConfig,
        namespace: where.namespace,
        pod: where.pod,
        archive: this.options.logDir ? logPath(this.options.logDir, assignment) : undefined,
        running: () => this.attempts.has(key),
        maxBytes: this.options.maxLogBytes,
      },
      options,
    );
  }

  // ---- orphans --------------------------------------------------------------------------

  private noteUnclaimed(namespace: string, name: string, type: "LISTED" | "ADDED" | "MODIFIED" | "DELETED", pod: V1Pod): void {
    const key = `${namespace}/${name}`;
    if (type === "DELETED") {
      this.unclaimed.delete(key);
      return;
    }
    const reading = readPod(pod);
    const owner = pod.metadata?.ownerReferences?.find((o) => o.kind === "ConfigMap");
    const known = this.unclaimed.get(key);
    this.unclaimed.set(key, {
      namespace,
      name,
      firstSeen: known?.firstSeen ?? Date.now(),
      ended: reading.state === "ended",
      execution: owner ? `${namespace}/${owner.name}` : undefined,
    });
  }

  private scheduleSweep(namespace: string, delay: number): void {
    if (this.closed) return;
    const timer = setTimeout(() => {
      this.sweepTimers.delete(namespace);
      void this.sweep(namespace, false).then(
        () => {
          if ([...this.unclaimed.values()].some((u) => u.namespace === namespace)) this.scheduleSweep(namespace, this.options.orphanGraceMs);
        },
        (e: unknown) => this.options.onError(e, `cleaning up unclaimed pods in ${namespace}`),
      );
    }, delay);
    timer.unref();
    this.sweepTimers.set(namespace, timer);
  }

  /** Deletes unclaimed pods of a namespace: those past the grace period, and (when `endedNow`) those that have ended. */
  private async sweep(namespace: string, endedNow: boolean): Promise<{ deleted: string[]; kept: string[] }> {
    const deleted: string[] = [];
    const kept: string[] = [];
    const now = Date.now();
    for (const [key, u] of [...this.unclaimed]) {
      if (u.namespace !== namespace || this.byPod.has(key)) continue;
      const due = now - u.firstSeen >= this.options.orphanGraceMs || (endedNow && u.ended);
      if (!this.options.deletePods || !due) {
        kept.push(key);
        continue;
      }
      this.unclaimed.delete(key);
      await this.deletePod(u.namespace, u.name, u.ended ? 0 : ABORT_GRACE_SECONDS);
      deleted.push(key);
      // An execution none of whose attempts the runner tracks: its anchor can go too.
      if (u.execution && !this.executionAttempts.has(u.execution) && !this.anchorTimers.has(u.execution)) {
        this.executionAttempts.set(u.execution, 1);
        this.executionIdle(u.execution);
      }
    }
    return { deleted, kept };
  }

  async reconcile(): Promise<ReconcileReport> {
    const report: ReconcileReport = { tracked: [...this.attempts.values()].map((a) => `${a.namespace}/${a.pod}`), deleted: [], kept: [] };
    for (const namespace of this.watches.keys()) {
      await this.ensureWatch(namespace);
      const { deleted, kept } = await this.sweep(namespace, true);
      report.deleted.push(...deleted);
      report.kept.push(...kept);
    }
    return report;
  }

  // ---- lifecycle ------------------------------------------------------------------------

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.tokenTimer) clearTimeout(this.tokenTimer);
    this.tokenTimer = undefined;
    for (const wake of this.tokenWaiters.splice(0)) wake();
    for (const watch of this.watches.values()) watch.stop();
    this.watches.clear();
    for (const timer of [...this.anchorTimers.values(), ...this.sweepTimers.values()]) clearTimeout(timer);
    this.anchorTimers.clear();
    this.sweepTimers.clear();
    for (const a of this.attempts.values()) this.clearProblem(a);
    for (const wake of [...this.sleepers]) wake();
    // Queued attempts never get a pod; created ones run on and report over HTTP, and a restarted backend re-attaches.
    this.queue.length = 0;
  }

  /** A sleep that close() cuts short. */
  private sleep(ms: number): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.sleepers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.sleepers.add(wake);
    });
  }

  private async withRetries<T>(call: () => Promise<T>): Promise<T> {
    for (let tries = 0; ; tries++) {
      try {
        return await call();
      } catch (e) {
        const failure: ApiFailure = apiFailure(e);
        if (!isTransient(failure) || tries >= MAX_TRANSIENT_RETRIES || this.closed) throw e;
        await this.sleep(failure.retryAfterMs ?? backoffMs(tries, RETRY_BASE_MS, RETRY_MAX_MS));
      }
    }
  }
}

/** Whether an attempt has ended (a function, so that TypeScript does not narrow its state across awaits). */
function hasEnded(a: PodAttempt): boolean {
  return a.state === "ended";
}

/** The namespace and pod a handle names. */
function podOfHandle(handle: RunnerHandle): { namespace: string; pod: string } | undefined {
  const namespace = handle.info?.namespace;
  const pod = handle.info?.pod;
  if (namespace && pod) return { namespace, pod };
  const m = /^([^/]+)\/([^/]+)$/.exec(handle.id);
  return m ? { namespace: m[1]!, pod: m[2]! } : undefined;
}

function imageOfPod(pod: V1Pod | undefined): string {
  return pod?.spec?.containers?.[0]?.image ?? "?";
}

function formatDuration(ms: number): string {
  return ms < 1000 ? `${ms} ms` : ms < 120_000 ? `${Math.round(ms / 1000)} s` : `${Math.round(ms / 60_000)} min`;
}
