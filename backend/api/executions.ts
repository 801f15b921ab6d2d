/**
 * Executions: creation from a launch plan or a workflow (inputs checked against
 * the interface, fixed inputs and defaults applied), listing with filters and
 * cursor pagination, and the requests the engine acts on: terminate, relaunch,
 * recover. This issue records them; the engine (next issue) runs them.
 */
import { randomBytes } from "node:crypto";
import {
  EXECUTION_PHASES,
  isTerminalPhase,
  typesEqual,
  typeToString,
  type ExecutionPhase,
  type Identifier,
  type LaunchPlanSpec,
  type Literal,
  type LiteralMap,
  type WorkflowSpec,
} from "../../kernel/index.js";
import type { EntityRecord, ExecutionFilter, ExecutionKey, ExecutionMode, ExecutionRecord, LabelFilter } from "../store/index.js";
import type { ApiDeps, Principal } from "./context.js";
import { API_ERRORS, ApiError, badRequest, notFound } from "./errors.js";
import { checkBlobRefs, storeLiterals } from "./literals-store.js";
import { literalProblem } from "./literals.js";
import { has, own } from "./own.js";
import { LABEL_KEY_PATTERN } from "./schemas.js";

/** The body of a create-execution request. */
export interface CreateExecutionBody {
  name?: string;
  launchPlan?: { name: string; version?: string };
  workflow?: { name: string; version?: string };
  inputs?: LiteralMap;
  labels?: Record<string, string>;
  maxParallelism?: number;
  overwriteCache?: boolean;
}

/** Generated execution names: a letter then 19 base-32 characters (~95 bits). */
export function generateExecutionName(): string {
  const alphabet = "abcdefghijklmnopqrstuvwxyz234567";
  const bytes = randomBytes(19);
  let out = "x";
  for (const b of bytes) out += alphabet[b & 31];
  return out;
}

/**
 * The inputs an execution runs with. Precedence: fixed inputs of the launch plan
 * (which a caller may not override), then the caller's, then the launch plan's
 * defaults, then the workflow's, then `none` for optional inputs.
 */
export function resolveInputs(workflow: WorkflowSpec, plan: LaunchPlanSpec | undefined, given: LiteralMap): LiteralMap {
  const declared = workflow.interface.inputs;
  for (const name of Object.keys(given)) {
    if (!has(declared, name)) {
      throw badRequest(`inputs.${name}`, `workflow ${workflow.name} has no input ${name} (inputs: ${Object.keys(declared).join(", ") || "none"})`, API_ERRORS.INVALID_INPUTS);
    }
    if (plan && has(plan.fixedInputs, name)) {
      throw badRequest(`inputs.${name}`, `is fixed by launch plan ${plan.name} and cannot be overridden`, API_ERRORS.INVALID_INPUTS);
    }
  }
  const out: LiteralMap = {};
  for (const [name, v] of Object.entries(declared)) {
    const value: Literal | undefined = (plan && own(plan.fixedInputs, name)) ?? own(given, name) ?? (plan && own(plan.defaultInputs, name)) ?? v.default ?? (v.type.kind === "optional" ? { kind: "none" } : undefined);
    if (!value) throw badRequest(`inputs.${name}`, `is required (${typeToString(v.type)}) and has no default`, API_ERRORS.INVALID_INPUTS);
    if (has(given, name)) {
      const problem = literalProblem(value, v.type, `inputs.${name}`);
      if (problem) throw badRequest(`inputs.${name}`, problem, API_ERRORS.INVALID_INPUTS);
    }
    out[name] = value;
  }
  return out;
}

async function findLaunchPlan(deps: ApiDeps, project: string, domain: string, ref: { name: string; version?: string }): Promise<EntityRecord> {
  const { store } = deps;
  const record =
    ref.version !== undefined
      ? await store.getEntity({ resourceType: "launch_plan", project, domain, name: ref.name, version: ref.version })
      : ((await store.getActiveLaunchPlan(project, domain, ref.name)) ?? (await store.latestEntity("launch_plan", project, domain, ref.name)));
  if (!record) {
    throw badRequest("launchPlan", `launch plan ${ref.name}${ref.version !== undefined ? `@${ref.version}` : ""} is not registered in ${project}/${domain}`, API_ERRORS.UNKNOWN_REFERENCE);
  }
  return record;
}

async function findWorkflow(deps: ApiDeps, project: string, domain: string, ref: { name: string; version?: string }, field: string): Promise<EntityRecord> {
  const { store } = deps;
  const record =
    ref.version !== undefined
      ? await store.getEntity({ resourceType: "workflow", project, domain, name: ref.name, version: ref.version })
      : await store.latestEntity("workflow", project, domain, ref.name);
  if (!record) {
    throw badRequest(field, `workflow ${ref.name}${ref.version !== undefined ? `@${ref.version}` : ""} is not registered in ${project}/${domain}`, API_ERRORS.UNKNOWN_REFERENCE);
  }
  return record;
}

function checkLabels(labels: Record<string, string>): void {
  for (const key of Object.keys(labels)) {
    if (!LABEL_KEY_PATTERN.test(key)) throw badRequest(`labels.${key}`, `is not a label key (${LABEL_KEY_PATTERN.source})`);
  }
}

/** What a caller inside the backend may add to a create request (the scheduler marks its executions). */
export interface CreateExecutionOptions {
  /** How the execution came to be (default `launch`). */
  mode?: ExecutionMode;
}

/**
 * Creates an execution (201) from a validated request body. A name that is
 * taken in the project and domain is a 409 ALREADY_EXISTS and creates nothing,
 * so callers that derive names deterministically (the scheduler) create at most one.
 */
export async function createExecution(
  deps: ApiDeps,
  principal: Principal,
  project: string,
  domain: string,
  body: CreateExecutionBody,
  options: CreateExecutionOptions = {},
): Promise<ExecutionRecord> {
  if ((body.launchPlan === undefined) === (body.workflow === undefined)) {
    throw badRequest("launchPlan", "give exactly one of launchPlan or workflow", API_ERRORS.SCHEMA_VIOLATION);
  }
  const given = body.inputs ?? {};
  let plan: EntityRecord | undefined;
  let workflow: EntityRecord;
  if (body.launchPlan) {
    plan = await findLaunchPlan(deps, project, domain, body.launchPlan);
    const wfId = plan.references.find((r) => r.resourceType === "workflow");
    const wf = wfId && (await deps.store.getEntity(wfId));
    if (!wf) throw new ApiError(500, API_ERRORS.INTERNAL, `launch plan ${plan.id.name}@${plan.id.version} refers to a workflow that is no longer stored`);
    workflow = wf;
  } else {
    workflow = await findWorkflow(deps, project, domain, body.workflow!, "workflow");
  }
  const planSpec = plan?.spec as LaunchPlanSpec | undefined;
  const inputs = resolveInputs(workflow.spec as WorkflowSpec, planSpec, given);
  await checkBlobRefs(deps, project, given, "inputs");
  const labels = { ...(planSpec?.labels ?? {}), ...(body.labels ?? {}) };
  checkLabels(labels);
  const maxParallelism = body.maxParallelism ?? planSpec?.maxParallelism;
  return insertExecution(deps, principal, {
    key: { project, domain, name: body.name ?? generateExecutionName() },
    workflow: workflow.id,
    ...(plan ? { launchPlan: plan.id } : {}),
    inputs: { literals: inputs },
    labels,
    ...(maxParallelism !== undefined ? { maxParallelism } : {}),
    ...(body.overwriteCache ? { overwriteCache: true } : {}),
    mode: options.mode ?? "launch",
  });
}

interface ExecutionDraft {
  key: ExecutionKey;
  workflow: Identifier;
  launchPlan?: Identifier;
  /** Fresh literals to store, or stored ones to reuse (a relaunch shares its source's). */
  inputs: { literals: LiteralMap } | { stored: ExecutionRecord["inputs"] };
  labels: Record<string, string>;
  maxParallelism?: number;
  overwriteCache?: boolean;
  mode: ExecutionMode;
  source?: string;
}

async function insertExecution(deps: ApiDeps, principal: Principal, d: ExecutionDraft): Promise<ExecutionRecord> {
  const now = deps.clock.now();
  const stored = "stored" in d.inputs ? d.inputs.stored : await storeLiterals(deps, d.key.project, d.inputs.literals, principal.name);
  const record = await deps.store.createExecution({
    key: d.key,
    workflow: d.workflow,
    ...(d.launchPlan ? { launchPlan: d.launchPlan } : {}),
    phase: "QUEUED",
    mode: d.mode,
    ...(d.source !== undefined ? { source: d.source } : {}),
    inputs: stored,
    labels: d.labels,
    ...(d.maxParallelism !== undefined ? { maxParallelism: d.maxParallelism } : {}),
    ...(d.overwriteCache ? { overwriteCache: true } : {}),
    createdAt: now,
    createdBy: principal.name,
    updatedAt: now,
  });
  if (!record) throw new ApiError(409, API_ERRORS.ALREADY_EXISTS, `name: execution ${d.key.name} already exists in ${d.key.project}/${d.key.domain}`, { field: "name" });
  deps.engine?.created(record);
  return record;
}

/** Gets an execution or 404. */
export async function getExecutionOr404(deps: ApiDeps, key: ExecutionKey): Promise<ExecutionRecord> {
  const e = await deps.store.getExecution(key);
  if (!e) throw notFound(`execution ${key.name}`);
  return e;
}

/** Phases that recovery applies to: an execution that did not succeed and will not continue. */
const RECOVERABLE: readonly ExecutionPhase[] = ["FAILED", "TIMED_OUT", "ABORTED"];

/**
 * Records a terminate request: the execution moves to ABORTED with the cause,
 * who and when; the engine stops whatever it runs for it. 409 when it had
 * already finished.
 */
export async function terminateExecution(deps: ApiDeps, principal: Principal, key: ExecutionKey, cause: string): Promise<ExecutionRecord> {
  const now = deps.clock.now();
  const live = EXECUTION_PHASES.filter((p) => !isTerminalPhase(p));
  const result = await deps.store.updateExecution(key, { phase: "ABORTED", abort: { cause, by: principal.name, at: now }, endedAt: now, updatedAt: now }, live);
  if (!result) throw notFound(`execution ${key.name}`);
  if (!result.updated) throw new ApiError(409, API_ERRORS.INVALID_STATE, `execution ${key.name} already finished (${result.record.phase})`, { details: { phase: result.record.phase } });
  deps.engine?.terminated(result.record);
  return result.record;
}

/**
 * Relaunch: a new execution of the same workflow (and launch plan) version with
 * the same inputs. Recover: the same, marked as a recovery of a failed, timed
 * out or aborted execution, so the engine reuses the nodes that succeeded.
 */
export async function rerunExecution(
  deps: ApiDeps,
  principal: Principal,
  key: ExecutionKey,
  mode: "relaunch" | "recover",
  name: string | undefined,
  version?: string,
): Promise<ExecutionRecord> {
  const source = await getExecutionOr404(deps, key);
  if (mode === "recover" && !RECOVERABLE.includes(source.phase)) {
    throw new ApiError(409, API_ERRORS.INVALID_STATE, `execution ${key.name} is ${source.phase}; only ${RECOVERABLE.join(", ")} executions can be recovered`, {
      details: { phase: source.phase },
    });
  }
  let workflow = source.workflow;
  if (version !== undefined && version !== source.workflow.version) {
    const target = await findWorkflow(deps, key.project, key.domain, { name: source.workflow.name, version }, "version");
    const old = await deps.store.getEntity(source.workflow);
    if (old) checkCompatible(old.spec as WorkflowSpec, target.spec as WorkflowSpec, version);
    workflow = target.id;
  }
  return insertExecution(deps, principal, {
    key: { ...key, name: name ?? generateExecutionName() },
    workflow,
    // A launch plan pins one workflow version: a rerun on another version runs the workflow itself.
    ...(source.launchPlan && workflow === source.workflow ? { launchPlan: source.launchPlan } : {}),
    inputs: { stored: source.inputs },
    labels: source.labels,
    ...(source.maxParallelism !== undefined ? { maxParallelism: source.maxParallelism } : {}),
    mode,
    source: key.name,
  });
}

/**
 * Whether a rerun's inputs fit another version of the workflow: every input keeps
 * its name and type, and any new input has a default. 409 naming the first misfit.
 */
function checkCompatible(from: WorkflowSpec, to: WorkflowSpec, version: string): void {
  const misfit = (why: string) =>
    new ApiError(409, API_ERRORS.INVALID_STATE, `version: workflow ${to.name}@${version} is not compatible with the execution's version: ${why}`, { field: "version" });
  for (const [name, v] of Object.entries(from.interface.inputs)) {
    const now = own(to.interface.inputs, name);
    if (!now) throw misfit(`input ${name} is gone`);
    if (!typesEqual(now.type, v.type)) throw misfit(`input ${name} was ${typeToString(v.type)}, is ${typeToString(now.type)}`);
  }
  for (const [name, v] of Object.entries(to.interface.inputs)) {
    if (!has(from.interface.inputs, name) && !v.default && v.type.kind !== "optional") throw misfit(`new input ${name} has no default`);
  }
}

/** Page sizes of list endpoints. */
export const DEFAULT_PAGE_SIZE = 100;
export const MAX_PAGE_SIZE = 1000;

/** `?limit=&cursor=` as a page request; 400 naming the parameter when invalid. */
export function parsePage(query: URLSearchParams): { limit: number; cursor?: string } {
  const limitText = query.get("limit");
  let limit = DEFAULT_PAGE_SIZE;
  if (limitText !== null) {
    if (!/^[1-9][0-9]{0,6}$/.test(limitText) || Number(limitText) > MAX_PAGE_SIZE) {
      throw badRequest("limit", `${JSON.stringify(limitText)} is not an integer from 1 to ${MAX_PAGE_SIZE}`, API_ERRORS.INVALID_PARAMETER);
    }
    limit = Number(limitText);
  }
  const cursor = query.get("cursor");
  return cursor !== null ? { limit, cursor } : { limit };
}

function parseTime(query: URLSearchParams, name: string): number | undefined {
  const v = query.get(name);
  if (v === null) return undefined;
  const ms = /^\d{4}-\d{2}-\d{2}T/.test(v) ? Date.parse(v) : Number.NaN;
  if (!Number.isFinite(ms)) throw badRequest(name, `${JSON.stringify(v)} is not an ISO-8601 time`, API_ERRORS.INVALID_PARAMETER);
  return ms;
}

/** `?phase=&workflow=&launchPlan=&label=k=v&createdAfter=&createdBefore=` as a store filter. */
export function parseExecutionFilter(project: string, domain: string, query: URLSearchParams): ExecutionFilter {
  const filter: ExecutionFilter = { project, domain };
  const phases = query.getAll("phase").flatMap((p) => p.split(","));
  if (phases.length > 0) {
    for (const p of phases) {
      if (!(EXECUTION_PHASES as readonly string[]).includes(p)) throw badRequest("phase", `${JSON.stringify(p)} is not one of ${EXECUTION_PHASES.join(", ")}`, API_ERRORS.INVALID_PARAMETER);
    }
    filter.phases = phases as ExecutionPhase[];
  }
  const workflow = query.get("workflow");
  if (workflow !== null) filter.workflow = workflow;
  const launchPlan = query.get("launchPlan");
  if (launchPlan !== null) filter.launchPlan = launchPlan;
  const labels: LabelFilter[] = [];
  for (const l of query.getAll("label")) {
    const eq = l.indexOf("=");
    const key = eq < 0 ? l : l.slice(0, eq);
    if (!LABEL_KEY_PATTERN.test(key)) throw badRequest("label", `${JSON.stringify(l)}: expected key or key=value`, API_ERRORS.INVALID_PARAMETER);
    labels.push(eq < 0 ? { key } : { key, value: l.slice(eq + 1) });
  }
  if (labels.length > 0) filter.labels = labels;
  const after = parseTime(query, "createdAfter");
  if (after !== undefined) filter.createdAfter = after;
  const before = parseTime(query, "createdBefore");
  if (before !== undefined) filter.createdBefore = before;
  return filter;
}
