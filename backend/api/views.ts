/** Records as the API shows them: ISO times, literal maps inline or as a blob reference. */
import type {
  EntityNameSummary,
  EntityRecord,
  ExecutionRecord,
  NodeAttemptRecord,
  NodeExecutionRecord,
  ProjectRecord,
  PromotionRecord,
  StoredLiterals,
  TokenRecord,
} from "../store/index.js";
import { iso, isoOpt } from "./http.js";

type Json = Record<string, unknown>;

/** Drops undefined fields, so absent means absent in the JSON too. */
function compact(o: Json): Json {
  for (const k of Object.keys(o)) if (o[k] === undefined) delete o[k];
  return o;
}

export function projectView(p: ProjectRecord, domains: readonly string[]): Json {
  return { name: p.name, description: p.description, labels: p.labels, domains: [...domains], createdAt: iso(p.createdAt), createdBy: p.createdBy };
}

export function entityView(e: EntityRecord): Json {
  return compact({
    id: e.id,
    spec: e.spec,
    bundle: e.bundle,
    digest: e.digest,
    references: e.references,
    createdAt: iso(e.createdAt),
    createdBy: e.createdBy,
    promotedFrom: e.promotedFrom && { fromDomain: e.promotedFrom.fromDomain, by: e.promotedFrom.by, at: iso(e.promotedFrom.at) },
    active: e.id.resourceType === "launch_plan" ? e.active : undefined,
  });
}

export function versionView(e: EntityRecord): Json {
  return compact({
    version: e.id.version,
    digest: e.digest,
    bundle: e.bundle,
    createdAt: iso(e.createdAt),
    createdBy: e.createdBy,
    promotedFrom: e.promotedFrom && { fromDomain: e.promotedFrom.fromDomain, by: e.promotedFrom.by, at: iso(e.promotedFrom.at) },
    active: e.id.resourceType === "launch_plan" ? e.active : undefined,
  });
}

export function nameView(n: EntityNameSummary): Json {
  return { name: n.name, latestVersion: n.latestVersion, versions: n.versions, updatedAt: iso(n.updatedAt) };
}

export function promotionView(p: PromotionRecord): Json {
  return { id: p.id, fromDomain: p.fromDomain, by: p.by, at: iso(p.at) };
}

/** `inputs` inline when small, `inputsRef` (fetch through the data API) when stored as a blob. */
function literalsView(name: string, stored: StoredLiterals | undefined): Json {
  if (!stored) return {};
  return "inline" in stored ? { [name]: stored.inline } : { [`${name}Ref`]: stored.blob };
}

export function executionView(e: ExecutionRecord): Json {
  return compact({
    project: e.key.project,
    domain: e.key.domain,
    name: e.key.name,
    workflow: e.workflow,
    launchPlan: e.launchPlan,
    phase: e.phase,
    mode: e.mode,
    source: e.source,
    ...literalsView("inputs", e.inputs),
    ...literalsView("outputs", e.outputs),
    error: e.error,
    abort: e.abort && { cause: e.abort.cause, by: e.abort.by, at: iso(e.abort.at) },
    labels: e.labels,
    maxParallelism: e.maxParallelism,
    overwriteCache: e.overwriteCache,
    parent: e.parent,
    createdAt: iso(e.createdAt),
    createdBy: e.createdBy,
    updatedAt: iso(e.updatedAt),
    startedAt: isoOpt(e.startedAt),
    endedAt: isoOpt(e.endedAt),
  });
}

export function attemptView(a: NodeAttemptRecord): Json {
  return compact({
    attempt: a.attempt,
    phase: a.phase,
    error: a.error,
    logs: a.logs,
    runner: a.runner && { kind: a.runner.kind, id: a.runner.id },
    startedAt: isoOpt(a.startedAt),
    endedAt: isoOpt(a.endedAt),
    updatedAt: iso(a.updatedAt),
  });
}

export function nodeView(n: NodeExecutionRecord, attempts?: NodeAttemptRecord[]): Json {
  return compact({
    nodeId: n.nodeId,
    phase: n.phase,
    ...literalsView("inputs", n.inputs),
    ...literalsView("outputs", n.outputs),
    error: n.error,
    cache: n.cache,
    checkpoint: n.checkpoint,
    target: n.target,
    child: n.child,
    attempts: attempts ? attempts.map(attemptView) : n.attempts,
    createdAt: iso(n.createdAt),
    updatedAt: iso(n.updatedAt),
    startedAt: isoOpt(n.startedAt),
    endedAt: isoOpt(n.endedAt),
  });
}

export function tokenView(t: TokenRecord): Json {
  return compact({
    id: t.id,
    name: t.name,
    kind: t.kind,
    grants: t.grants,
    scope: t.scope,
    createdAt: iso(t.createdAt),
    createdBy: t.createdBy,
    expiresAt: isoOpt(t.expiresAt),
    revokedAt: isoOpt(t.revokedAt),
  });
}
