/**
 * Names, labels and annotations of the runner's objects. Pod names are
 * deterministic per attempt, so a launch repeated after a crash finds the pod it
 * already made; label values are sanitized (labels select), while annotations
 * carry the exact values (people and the runner read them).
 */
import { createHash } from "node:crypto";
import { attemptId, type AttemptAssignment } from "../../../kernel/runtime/index.js";

/** Kubernetes caps DNS-1123 labels (namespaces, pod names here) and label values at this length. */
export const MAX_NAME_LENGTH = 63;

/** Label keys (selectable, sanitized values) and annotation keys (exact values). */
export const LABELS = {
  managedBy: "app.kubernetes.io/managed-by",
  component: "app.kubernetes.io/component",
  project: "petrel.dev/project",
  domain: "petrel.dev/domain",
  execution: "petrel.dev/execution",
  node: "petrel.dev/node",
  attempt: "petrel.dev/attempt",
  task: "petrel.dev/task",
  interruptible: "petrel.dev/interruptible",
} as const;

/** Annotation keys; values are exact. */
export const ANNOTATIONS = {
  project: "petrel.dev/project",
  domain: "petrel.dev/domain",
  execution: "petrel.dev/execution",
  node: "petrel.dev/node",
  attempt: "petrel.dev/attempt",
  /** The attempt's stable id (`project/domain/execution/<node>/<attempt>`): what adoption checks. */
  attemptId: "petrel.dev/attempt-id",
  task: "petrel.dev/task",
} as const;

/** The value of `app.kubernetes.io/managed-by` on everything this runner makes. */
export const MANAGED_BY = "petrel";
/** The selector of every pod (and anchor) this runner makes. */
export const MANAGED_SELECTOR = `${LABELS.managedBy}=${MANAGED_BY}`;
/** The container that runs the runtime. */
export const CONTAINER_NAME = "task";

/** The first `length` hex digits of sha256(text). */
export function shortHash(text: string, length = 8): string {
  return createHash("sha256").update(text).digest("hex").slice(0, length);
}

/** Lowercase letters, digits and `-`, starting and ending alphanumeric (may be empty). */
function dnsLabelChars(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/-{2,}/g, "-")
    .replace(/^-+|-+$/g, "");
}

/** `text` cut so that it still ends alphanumeric. */
function cut(text: string, length: number, allowed: RegExp): string {
  let out = text.slice(0, Math.max(0, length));
  while (out !== "" && !allowed.test(out.at(-1)!)) out = out.slice(0, -1);
  return out;
}

/**
 * A DNS-1123 label (≤ 63 chars of `[a-z0-9-]`, alphanumeric at both ends) from
 * any text: kept as is when it already is one, else sanitized, with a short hash
 * of the original appended so different inputs stay different.
 */
export function dnsLabel(text: string): string {
  const clean = dnsLabelChars(text);
  if (clean === text && clean.length > 0 && clean.length <= MAX_NAME_LENGTH) return clean;
  const hash = shortHash(text, 6);
  const head = cut(clean, MAX_NAME_LENGTH - hash.length - 1, /[a-z0-9]/);
  return head === "" ? `x-${hash}` : `${head}-${hash}`;
}

/** A valid label value (≤ 63 chars of `[A-Za-z0-9_.-]`, alphanumeric at both ends), sanitized like {@link dnsLabel} when needed. */
export function labelValue(text: string): string {
  if (text === "" || /^(?=.{1,63}$)[A-Za-z0-9](?:[A-Za-z0-9_.-]*[A-Za-z0-9])?$/.test(text)) return text;
  const clean = text.replace(/[^A-Za-z0-9_.-]+/g, "_").replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, "");
  const hash = shortHash(text, 6);
  const head = cut(clean, MAX_NAME_LENGTH - hash.length - 1, /[A-Za-z0-9]/);
  return head === "" ? hash : `${head}-${hash}`;
}

/** The namespace of a project-domain pair: the template with `{project}` and `{domain}` substituted, as a DNS-1123 label. */
export function namespaceFor(template: string, project: string, domain: string): string {
  const raw = template.replaceAll("{project}", project).replaceAll("{domain}", domain);
  const clean = dnsLabelChars(raw);
  if (clean.length > 0 && clean.length <= MAX_NAME_LENGTH) return clean;
  return dnsLabel(raw);
}

/**
 * The pod of an attempt: `<execution>-<node>-a<attempt>-<hash>`, lowercased and
 * sanitized, cut to fit 63 characters; the hash of the attempt's exact id keeps
 * names unique whatever was cut or replaced.
 */
export function podNameFor(assignment: Pick<AttemptAssignment, "execution" | "node" | "attempt">): string {
  const suffix = `-a${assignment.attempt}-${shortHash(attemptId(assignment), 10)}`;
  const head = cut(dnsLabelChars(`${assignment.execution.name}-${assignment.node}`), MAX_NAME_LENGTH - suffix.length, /[a-z0-9]/);
  return `${head === "" ? "petrel" : head}${suffix}`;
}

/** The per-execution ConfigMap that owns the execution's pods. */
export function anchorNameFor(execution: AttemptAssignment["execution"]): string {
  const suffix = `-${shortHash(`${execution.project}/${execution.domain}/${execution.name}`, 10)}`;
  const head = cut(dnsLabelChars(`petrel-exec-${execution.name}`), MAX_NAME_LENGTH - suffix.length, /[a-z0-9]/);
  return `${head}${suffix}`;
}

/** Labels of an attempt's pod. */
export function podLabels(assignment: AttemptAssignment, interruptible: boolean): Record<string, string> {
  return {
    [LABELS.managedBy]: MANAGED_BY,
    [LABELS.component]: "task",
    [LABELS.project]: labelValue(assignment.execution.project),
    [LABELS.domain]: labelValue(assignment.execution.domain),
    [LABELS.execution]: labelValue(assignment.execution.name),
    [LABELS.node]: labelValue(assignment.node),
    [LABELS.attempt]: String(assignment.attempt),
    [LABELS.task]: labelValue(assignment.task.name),
    ...(interruptible ? { [LABELS.interruptible]: "true" } : {}),
  };
}

/** Annotations of an attempt's pod: the exact values behind the labels. */
export function podAnnotations(assignment: AttemptAssignment): Record<string, string> {
  return {
    [ANNOTATIONS.project]: assignment.execution.project,
    [ANNOTATIONS.domain]: assignment.execution.domain,
    [ANNOTATIONS.execution]: assignment.execution.name,
    [ANNOTATIONS.node]: assignment.node,
    [ANNOTATIONS.attempt]: String(assignment.attempt),
    [ANNOTATIONS.attemptId]: attemptId(assignment),
    [ANNOTATIONS.task]: `${assignment.task.name}@${assignment.task.version}`,
  };
}

/** Whether a pod's metadata says it runs this attempt (what adopting an existing pod requires). */
export function podBelongsTo(metadata: { labels?: Record<string, string>; annotations?: Record<string, string> } | undefined, assignment: AttemptAssignment): boolean {
  return metadata?.labels?.[LABELS.managedBy] === MANAGED_BY && metadata.annotations?.[ANNOTATIONS.attemptId] === attemptId(assignment);
}
