/**
 * What a pod's status means for its attempt. Kubernetes says it in several
 * places — the phase, the pod's reason, the DisruptionTarget condition, the
 * container's waiting and terminated states — and this reads them in order of
 * authority: the cluster ending a pod (deadline, eviction, preemption, node
 * shutdown) outranks the exit code it left behind.
 */
import type { V1ContainerStatus, V1Pod, V1PodCondition } from "@kubernetes/client-node";
import { RUNTIME_EXIT } from "../../../kernel/runtime/index.js";
import type { AttemptExit } from "../types.js";
import { CONTAINER_NAME } from "./names.js";

/** Container waiting reasons that an image problem causes. */
const IMAGE_REASONS = new Set(["ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull", "RegistryUnavailable"]);
/** Image reasons no waiting can fix: failed at once. */
const IMAGE_REASONS_FINAL = new Set(["InvalidImageName", "ErrImageNeverPull"]);
/** Container waiting reasons of a container that cannot be made (a missing Secret or ConfigMap, a bad command). */
const CONFIG_REASONS = new Set(["CreateContainerConfigError", "CreateContainerError", "RunContainerError"]);
/** Terminated reasons of a container whose command could not be started (a missing executable in a custom image): no retry helps. */
const CANNOT_RUN_REASONS = new Set(["StartError", "ContainerCannotRun"]);
/**
 * A container's exit code after SIGKILL. The runtime reports every error of the
 * task's code itself and cannot catch SIGKILL, so a container that ends this way
 * without OOMKilled was stopped from outside (the kubelet, the container runtime,
 * the node's OOM killer): lost, as Flyte reads it ("Interrupted"), not the task's failure.
 */
const SIGKILL_EXIT_CODE = 137;
/** Pod reasons of a pod the cluster took away: the attempt is lost, not failed. */
const LOST_REASONS = new Set(["Evicted", "Preempting", "Preempted", "Terminated", "NodeShutdown", "Shutdown", "NodeLost", "NodeAffinity", "UnexpectedAdmissionError"]);

/** A problem that keeps a pod from starting, with the cluster's own words. */
export interface PodProblem {
  /** `image`: cannot pull its image; `config`: cannot make its container; `unschedulable`: no node fits it. */
  kind: "image" | "config" | "unschedulable";
  reason: string;
  message: string;
  /** Fails at once, without the grace period (e.g. an invalid image name). */
  final: boolean;
}

/** What a pod's status says. */
export type PodReading =
  | { state: "pending"; scheduled: boolean; problem?: PodProblem }
  | { state: "running" }
  | { state: "ended"; exit: AttemptExit; succeeded: boolean };

/** Facts about the attempt that shape the message. */
export interface ReadContext {
  /** The container's memory limit, for OOM messages. */
  memoryLimit?: string;
  /** Someone other than this runner deleted the pod (it has a deletionTimestamp we did not cause). */
  deletedByOthers?: boolean;
}

const conditionOf = (pod: V1Pod, type: string): V1PodCondition | undefined => pod.status?.conditions?.find((c) => c.type === type);
/** The runtime container's status. */
export const containerOf = (pod: V1Pod): V1ContainerStatus | undefined => pod.status?.containerStatuses?.find((c) => c.name === CONTAINER_NAME);
const said = (reason: string | undefined, message: string | undefined) => [reason, message].filter(Boolean).join(": ");

/** Whether the scheduler has placed the pod. */
export function isScheduled(pod: V1Pod): boolean {
  if (pod.spec?.nodeName) return true;
  if (conditionOf(pod, "PodScheduled")?.status === "True") return true;
  const phase = pod.status?.phase;
  return phase !== undefined && phase !== "Pending";
}

/** Reads a pod's status. */
export function readPod(pod: V1Pod, context: ReadContext = {}): PodReading {
  const name = `pod ${pod.metadata?.namespace ?? "?"}/${pod.metadata?.name ?? "?"}`;
  const phase = pod.status?.phase;
  const podReason = pod.status?.reason;
  const podMessage = pod.status?.message;
  const container = containerOf(pod);
  const terminated = container?.state?.terminated;
  const disruption = conditionOf(pod, "DisruptionTarget");
  const ended = phase === "Succeeded" || phase === "Failed" || terminated !== undefined;

  if (ended) {
    const code = terminated?.exitCode;
    const exit = (reason: AttemptExit["reason"], message: string): PodReading => ({
      state: "ended",
      succeeded: phase === "Succeeded" || code === 0,
      exit: { reason, message, ...(code !== undefined ? { exitCode: code } : {}) },
    });
    if (podReason === "DeadlineExceeded") return exit("timeout", `${name} ran past its activeDeadlineSeconds (${pod.spec?.activeDeadlineSeconds ?? "?"} s) and was stopped by the cluster${podMessage ? `: ${podMessage}` : ""}`);
    if (phase === "Failed" && podReason && (LOST_REASONS.has(podReason) || terminated === undefined)) {
      return exit("lost", `${name} was stopped by the cluster (${said(podReason, podMessage)})`);
    }
    if (code !== 0 && disruption?.status === "True") {
      return exit("lost", `${name} was disrupted by the cluster (${said(disruption.reason, disruption.message)})${code !== undefined ? `; its container exited with code ${code}` : ""}`);
    }
    if (terminated?.reason === "OOMKilled") {
      return exit("oom", `${name} was OOMKilled: its container used more memory than its limit${context.memoryLimit ? ` ${context.memoryLimit}` : ""} (exit code ${code ?? "?"})`);
    }
    if (code !== 0 && context.deletedByOthers) {
      return exit("lost", `${name} was deleted by someone other than petrel while it ran${code !== undefined ? `; its container exited with code ${code}` : ""}`);
    }
    if (code === SIGKILL_EXIT_CODE) {
      return exit("lost", `the container of ${name} was killed by SIGKILL (exit code ${code}) from outside the task: the node, its container runtime or its OOM killer stopped it`);
    }
    if (code === 0 || (code === undefined && phase === "Succeeded")) return exit("exited", `the container of ${name} exited normally`);
    if (terminated?.reason && CANNOT_RUN_REASONS.has(terminated.reason)) {
      return exit("rejected", `the container of ${name} could not start (${said(terminated.reason, terminated.message?.trim())}); check the image and runtimeCommand`);
    }
    if (code === RUNTIME_EXIT.UNREPORTED) {
      return exit("lost", `the runtime in ${name} could not report its outcome to the backend (exit code ${code})${terminated?.message ? `; its log ends with: ${terminated.message.trim()}` : ""}`);
    }
    if (code === undefined) return exit("lost", `${name} failed without a container exit status${podReason || podMessage ? ` (${said(podReason, podMessage)})` : ""}`);
    const because = terminated?.reason && terminated.reason !== "Error" ? ` (${terminated.reason})` : "";
    const signal = code > 128 && code < 160 ? `, i.e. killed by signal ${code - 128}` : "";
    const tail = terminated?.message?.trim();
    return exit("exited", `the container of ${name} exited with code ${code}${signal}${because}${tail ? `; its log ends with: ${tail}` : ""}`);
  }

  const waiting = container?.state?.waiting;
  if (waiting?.reason && IMAGE_REASONS.has(waiting.reason)) {
    return { state: "pending", scheduled: true, problem: { kind: "image", reason: waiting.reason, message: waiting.message ?? "", final: IMAGE_REASONS_FINAL.has(waiting.reason) } };
  }
  if (waiting?.reason && CONFIG_REASONS.has(waiting.reason)) {
    return { state: "pending", scheduled: true, problem: { kind: "config", reason: waiting.reason, message: waiting.message ?? "", final: false } };
  }
  if (phase === "Running") return { state: "running" };
  const scheduled = isScheduled(pod);
  const placement = conditionOf(pod, "PodScheduled");
  if (!scheduled && placement?.status === "False" && placement.reason === "Unschedulable") {
    return { state: "pending", scheduled, problem: { kind: "unschedulable", reason: placement.reason, message: placement.message ?? "", final: false } };
  }
  return { state: "pending", scheduled };
}
