/**
 * List-then-watch of the runner's pods in one namespace, the way informers do
 * it: list, hand over every pod, then watch from the list's resourceVersion
 * (with bookmarks, so the version stays fresh). A watch that ends is resumed from
 * the last version seen; 410 Gone (the version is too old) or any watch error
 * means a relist, after which the runner learns which of its pods are gone.
 */
import type { CoreV1Api, V1Pod, Watch } from "@kubernetes/client-node";
import { apiFailure, describeFailure } from "./api-errors.js";
import { backoffMs } from "./rate-limit.js";

/** What a namespace's watch reports. */
export interface PodWatchListener {
  /** A pod: listed (initially or after a relist), added, modified or deleted. */
  pod(type: "LISTED" | "ADDED" | "MODIFIED" | "DELETED", pod: V1Pod): void;
  /** A (re)list completed: the names it holds, and when it was requested (Date.now()). */
  listed(names: ReadonlySet<string>, requestedAt: number): void;
  error(error: unknown, context: string): void;
}

/** The server closes a watch after this long; it is then resumed from the last resourceVersion. */
const WATCH_TIMEOUT_SECONDS = 300;
/** A watch that ends sooner than this without an event is resumed only after a backoff (no tight loops). */
const MIN_WATCH_LIFETIME_MS = 1_000;
const RETRY_BASE_MS = 250;
const RETRY_MAX_MS = 15_000;

/** The pods of one namespace with a label selector, listed and watched until stopped. */
export class NamespaceWatch {
  private resourceVersion: string | undefined;
  private controller: AbortController | undefined;
  /** Each watch connection's number: callbacks of an older one are ignored. */
  private generation = 0;
  private failures = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private firstList: Promise<void> | undefined;
  /** How many (re)lists completed. */
  lists = 0;

  constructor(
    private readonly api: CoreV1Api,
    private readonly watcher: Watch,
    readonly namespace: string,
    private readonly labelSelector: string,
    private readonly listener: PodWatchListener,
  ) {}

  /** Starts listing and watching; resolves once the first list has completed (or failed: it is retried in the background). */
  start(): Promise<void> {
    this.firstList ??= this.relist();
    return this.firstList;
  }

  stop(): void {
    this.stopped = true;
    this.generation++;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.controller?.abort();
    this.controller = undefined;
  }

  private async relist(): Promise<void> {
    if (this.stopped) return;
    this.controller?.abort();
    this.controller = undefined;
    const generation = ++this.generation;
    const requestedAt = Date.now();
    try {
      const list = await this.api.listNamespacedPod({ namespace: this.namespace, labelSelector: this.labelSelector });
      if (this.stopped || generation !== this.generation) return;
      this.resourceVersion = list.metadata?.resourceVersion;
      const names = new Set<string>();
      for (const pod of list.items) {
        if (pod.metadata?.name) names.add(pod.metadata.name);
        this.listener.pod("LISTED", pod);
      }
      this.lists++;
      this.listener.listed(names, requestedAt);
      this.failures = 0;
      this.watch();
    } catch (e) {
      if (this.stopped || generation !== this.generation) return;
      this.listener.error(new Error(`listing pods in namespace ${this.namespace} failed (${describeFailure(apiFailure(e))}); retrying`), `watching namespace ${this.namespace}`);
      this.retry(() => void this.relist());
    }
  }

  private retry(again: () => void): void {
    if (this.stopped) return;
    const delay = backoffMs(this.failures++, RETRY_BASE_MS, RETRY_MAX_MS);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      again();
    }, delay);
    this.timer.unref();
  }

  /** Watches from the current resourceVersion. */
  private watch(): void {
    if (this.stopped) return;
    const generation = ++this.generation;
    const startedAt = Date.now();
    let gone = false;
    let events = 0;
    const current = () => !this.stopped && generation === this.generation;
    const path = `/api/v1/namespaces/${encodeURIComponent(this.namespace)}/pods`;
    const query = { labelSelector: this.labelSelector, resourceVersion: this.resourceVersion, allowWatchBookmarks: true, timeoutSeconds: WATCH_TIMEOUT_SECONDS };
    const onEvent = (type: string, object: unknown) => {
      if (!current()) return;
      events++;
      if (type === "ERROR") {
        const status = object as { code?: number; reason?: string; message?: string } | undefined;
        if (status?.code === 410 || status?.reason === "Expired" || status?.reason === "Gone") gone = true;
        else this.listener.error(new Error(`the watch of namespace ${this.namespace} sent an error: ${status?.code ?? ""} ${status?.message ?? JSON.stringify(object)}`), `watching namespace ${this.namespace}`);
        // The server ends the stream after an error; relist rather than wait for it.
        this.controller?.abort();
        void this.relist();
        return;
      }
      const pod = object as V1Pod;
      if (pod?.metadata?.resourceVersion) this.resourceVersion = pod.metadata.resourceVersion;
      if (type === "BOOKMARK") return;
      if (type === "ADDED" || type === "MODIFIED" || type === "DELETED") this.listener.pod(type, pod);
    };
    const onDone = (error: unknown) => {
      if (!current()) return;
      const failure = error ? apiFailure(error) : undefined;
      if (gone || failure?.status === 410) {
        void this.relist();
        return;
      }
      if (failure) {
        this.listener.error(new Error(`the watch of namespace ${this.namespace} failed (${describeFailure(failure)}); relisting`), `watching namespace ${this.namespace}`);
        this.retry(() => void this.relist());
        return;
      }
      // A normal end (the server's timeout): resume from the last version seen.
      if (events === 0 && Date.now() - startedAt < MIN_WATCH_LIFETIME_MS) this.retry(() => this.watch());
      else {
        this.failures = 0;
        this.watch();
      }
    };
    this.watcher.watch(path, query, onEvent, onDone).then(
      (controller) => {
        if (current()) this.controller = controller;
        else controller.abort();
      },
      (e: unknown) => onDone(e ?? new Error("the watch could not start")),
    );
  }
}
