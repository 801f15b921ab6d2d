/**
 * Registration, compilation and promotion of tasks, workflows and launch plans.
 *
 * A version is immutable: registering the same content again is a no-op (200),
 * different content under a taken version is a 409 listing the JSON paths that
 * differ. Workflows are compiled against what the domain holds (every target
 * registered, bindings well typed, acyclic) and the versions they reference are
 * pinned at registration, so later registrations never change what a workflow
 * version runs.
 */
import {
  checkTimeZone,
  isAssignable,
  isPetrelError,
  isWorkflowCompileError,
  parseCron,
  stableStringify,
  sha256,
  typeToString,
  typesEqual,
  validateWorkflowSpec,
  type Binding,
  type Condition,
  type EntityRef,
  type Identifier,
  type LaunchPlanSpec,
  type LiteralType,
  type Node,
  type ResourceType,
  type TaskSpec,
  type TypedInterface,
  type WorkflowSpec,
} from "../../kernel/index.js";
import type { EntityRecord, EntitySpec, MetadataStore } from "../store/index.js";
import { requireRole } from "./auth.js";
import { DEFAULT_MIN_SCHEDULE_RATE_MS, type ApiDeps, type Principal } from "./context.js";
import { jsonDiff, renderDiff, MAX_DIFFERENCES } from "./diff.js";
import { API_ERRORS, ApiError, badRequest, notFound } from "./errors.js";
import { checkBlobRefs } from "./literals-store.js";
import { literalProblem } from "./literals.js";
import { has, own } from "./own.js";

/** URL segment of each resource type. */
export const RESOURCE_SEGMENTS = { task: "tasks", workflow: "workflows", launch_plan: "launch-plans" } as const satisfies Record<ResourceType, string>;

const LABELS: Record<ResourceType, string> = { task: "task", workflow: "workflow", launch_plan: "launch plan" };

/** A registration request body. */
export interface RegisterBody {
  spec: EntitySpec;
  bundle?: string;
}

/** The identity of content: equal digests mean identical spec and bundle. */
export function entityDigest(spec: EntitySpec, bundle: string | undefined): string {
  return sha256(stableStringify({ spec, bundle: bundle ?? null }));
}

const describeId = (id: Identifier) => `${LABELS[id.resourceType]} ${id.name}@${id.version} in ${id.project}/${id.domain}`;

/** The 409 for a version that holds different content. */
function conflict(existing: EntityRecord, spec: EntitySpec, bundle: string | undefined, id: Identifier = existing.id): ApiError {
  const diff = jsonDiff({ spec: existing.spec, bundle: existing.bundle }, { spec, bundle });
  return new ApiError(
    409,
    API_ERRORS.VERSION_CONFLICT,
    `${describeId(id)} is already registered with different content; register a new version. Differences (stored -> submitted): ${renderDiff(diff)}`,
    { field: diff[0]?.path ?? "spec", details: { diff: diff.slice(0, MAX_DIFFERENCES), differences: diff.length, existingDigest: existing.digest } },
  );
}

/** Registers one entity version; 201 when stored, 200 when identical content was already there. */
export async function registerEntity(deps: ApiDeps, principal: Principal, id: Identifier, body: RegisterBody): Promise<{ status: 200 | 201; record: EntityRecord }> {
  const { spec, bundle } = body;
  if (spec.name !== id.name) throw badRequest("spec.name", `${JSON.stringify(spec.name)} differs from the name in the path (${JSON.stringify(id.name)})`);
  const digest = entityDigest(spec, bundle);
  const existing = await deps.store.getEntity(id);
  if (existing) {
    if (existing.digest === digest) return { status: 200, record: existing };
    throw conflict(existing, spec, bundle);
  }
  if (bundle !== undefined && !(await deps.store.getProjectBlob(id.project, bundle))) {
    throw badRequest("bundle", `bundle ${bundle} has not been uploaded to project ${id.project}`, API_ERRORS.UNKNOWN_REFERENCE);
  }
  let references: Identifier[];
  switch (id.resourceType) {
    case "task":
      await checkInterface(deps, id.project, (spec as TaskSpec).interface);
      references = [];
      break;
    case "workflow":
      await checkInterface(deps, id.project, (spec as WorkflowSpec).interface);
      references = await compileWorkflow(deps.store, id.project, id.domain, spec as WorkflowSpec);
      break;
    case "launch_plan":
      references = await checkLaunchPlan(deps, id.project, id.domain, spec as LaunchPlanSpec);
      break;
  }
  const result = await deps.store.registerEntity({ id, spec, ...(bundle !== undefined ? { bundle } : {}), digest, references, createdAt: deps.clock.now(), createdBy: principal.name });
  switch (result.status) {
    case "created":
      return { status: 201, record: result.record };
    case "identical":
      return { status: 200, record: result.record };
    case "conflict":
      throw conflict(result.existing, spec, bundle);
  }
}

/** Defaults declared in an interface must fit their types and refer only to the project's blobs. */
async function checkInterface(deps: ApiDeps, project: string, iface: TypedInterface): Promise<void> {
  for (const [name, v] of Object.entries(iface.inputs)) {
    if (!v.default) continue;
    const problem = literalProblem(v.default, v.type, `spec.interface.inputs.${name}.default`);
    if (problem) throw badRequest(`spec.interface.inputs.${name}.default`, problem, API_ERRORS.INVALID_INPUTS);
    await checkBlobRefs(deps, project, { [name]: v.default }, "spec.interface.inputs");
  }
}

/** A resolved reference: the record and the interface a node calling it sees. */
interface Resolved {
  record: EntityRecord;
  iface: TypedInterface;
}

/** What a launch plan node (or an execution of it) takes: the workflow's inputs minus fixed ones, with the plan's defaults. */
export function launchPlanInterface(workflow: WorkflowSpec, plan: LaunchPlanSpec): TypedInterface {
  const inputs: TypedInterface["inputs"] = {};
  for (const [name, v] of Object.entries(workflow.interface.inputs)) {
    if (has(plan.fixedInputs, name)) continue;
    const d = own(plan.defaultInputs, name) ?? v.default;
    inputs[name] = d ? { ...v, default: d } : { ...v };
  }
  return { inputs, outputs: workflow.interface.outputs };
}

/** Finds an entity by reference (a pinned version, else the latest) in one domain; 400 naming `field` when absent. */
export async function resolveRef(store: MetadataStore, project: string, domain: string, ref: EntityRef, field: string): Promise<Resolved> {
  const record =
    ref.version !== undefined
      ? await store.getEntity({ resourceType: ref.resourceType, project, domain, name: ref.name, version: ref.version })
      : await store.latestEntity(ref.resourceType, project, domain, ref.name);
  if (!record) {
    throw badRequest(
      field,
      `${LABELS[ref.resourceType]} ${ref.name}${ref.version !== undefined ? `@${ref.version}` : ""} is not registered in ${project}/${domain}`,
      API_ERRORS.UNKNOWN_REFERENCE,
    );
  }
  return { record, iface: await interfaceOf(store, record) };
}

/** The interface of a registered entity (a launch plan's is derived from its pinned workflow). */
export async function interfaceOf(store: MetadataStore, record: EntityRecord): Promise<TypedInterface> {
  if (record.id.resourceType !== "launch_plan") return (record.spec as TaskSpec | WorkflowSpec).interface;
  const wfId = record.references.find((r) => r.resourceType === "workflow");
  const wf = wfId && (await store.getEntity(wfId));
  if (!wf) throw new ApiError(500, API_ERRORS.INTERNAL, `${describeId(record.id)} refers to a workflow that is no longer stored`);
  return launchPlanInterface(wf.spec as WorkflowSpec, record.spec as LaunchPlanSpec);
}

/** Every node with a target, nested branch nodes included, with the body path that names it. */
function targets(nodes: readonly Node[], base: string): { node: Exclude<Node, { kind: "branch" }>; field: string }[] {
  const out: { node: Exclude<Node, { kind: "branch" }>; field: string }[] = [];
  const visit = (node: Node, field: string) => {
    if (node.kind !== "branch") {
      out.push({ node, field });
      return;
    }
    node.cases.forEach((c, i) => visit(c.node, `${field}.cases[${i}].node`));
    if ("node" in node.otherwise) visit(node.otherwise.node, `${field}.otherwise.node`);
  };
  nodes.forEach((n, i) => visit(n, `${base}[${i}]`));
  return out;
}

const refKey = (ref: EntityRef) => `${ref.resourceType}/${ref.name}@${ref.version ?? ""}`;

/**
 * Compiles a workflow against the domain: resolves every target (pinning the
 * latest version where the spec names none), runs the kernel's
 * validateWorkflowSpec with their interfaces, and checks that each node
 * declares the outputs its target produces. Returns the pinned references.
 */
export async function compileWorkflow(store: MetadataStore, project: string, domain: string, spec: WorkflowSpec): Promise<Identifier[]> {
  const resolved = new Map<string, Resolved>();
  const all = targets(spec.nodes, "spec.nodes");
  for (const { node, field } of all) {
    const key = refKey(node.target);
    if (!resolved.has(key)) resolved.set(key, await resolveRef(store, project, domain, node.target, `${field}.target`));
  }
  checkBindingNames(spec);
  try {
    validateWorkflowSpec(spec, (node) => (node.kind === "branch" ? undefined : resolved.get(refKey(node.target))?.iface));
  } catch (error) {
    if (isWorkflowCompileError(error)) {
      const d = error.details as { node?: string; input?: string };
      const field = fieldOfNode(spec, d.node, d.input);
      throw new ApiError(400, API_ERRORS.WORKFLOW_COMPILE, `${field}: ${error.message}`, { field, details: { ...error.details, compileCode: error.code } });
    }
    throw error;
  }
  for (const { node, field } of all) {
    const { iface, record } = resolved.get(refKey(node.target))!;
    for (const [name, v] of Object.entries(iface.outputs)) {
      const declared = own(node.outputs, name);
      const fits =
        declared !== undefined &&
        (node.kind === "map"
          ? declared.kind === "list" && (typesEqual(declared.items, v.type) || typesEqual(declared.items, { kind: "optional", type: v.type }))
          : typesEqual(declared, v.type));
      if (!fits) {
        const produced: LiteralType = node.kind === "map" ? { kind: "list", items: v.type } : v.type;
        throw badRequest(
          `${field}.outputs.${name}`,
          `node ${node.id} declares output ${name} as ${declared ? typeToString(declared) : "nothing"}, but ${LABELS[record.id.resourceType]} ${record.id.name}@${record.id.version} produces ${typeToString(produced)}`,
          API_ERRORS.WORKFLOW_COMPILE,
        );
      }
    }
    for (const name of Object.keys(node.outputs)) {
      if (!has(iface.outputs, name)) {
        throw badRequest(`${field}.outputs.${name}`, `node ${node.id} declares output ${name}, which ${record.id.name} does not produce`, API_ERRORS.WORKFLOW_COMPILE);
      }
    }
  }
  const refs = new Map<string, Identifier>();
  for (const { record } of resolved.values()) refs.set(`${record.id.resourceType}/${record.id.name}@${record.id.version}`, record.id);
  return [...refs.values()];
}

/**
 * Every name a binding uses must be an own entry of what it names (a workflow
 * input, a node output): a binding to `constructor` or `toString` must be an
 * unknown name, not a member of Object.prototype.
 */
function checkBindingNames(spec: WorkflowSpec): void {
  const outputsOf = new Map<string, Record<string, LiteralType>>();
  const collect = (n: Node) => {
    outputsOf.set(n.id, n.outputs);
    if (n.kind === "branch") {
      n.cases.forEach((c) => collect(c.node));
      if ("node" in n.otherwise) collect(n.otherwise.node);
    }
  };
  spec.nodes.forEach(collect);
  const binding = (b: Binding, field: string): void => {
    switch (b.kind) {
      case "input":
        if (!has(spec.interface.inputs, b.name)) throw badRequest(field, `binding refers to unknown workflow input ${b.name}`, API_ERRORS.WORKFLOW_COMPILE);
        return;
      case "output": {
        const outputs = outputsOf.get(b.node);
        if (outputs && !has(outputs, b.output)) throw badRequest(field, `node ${b.node} has no output ${b.output}`, API_ERRORS.WORKFLOW_COMPILE);
        return;
      }
      case "list":
        b.items.forEach((item, i) => binding(item, `${field}.items[${i}]`));
        return;
      case "map":
        for (const [k, item] of Object.entries(b.entries)) binding(item, `${field}.entries.${k}`);
        return;
      default:
        return;
    }
  };
  const condition = (c: Condition, field: string): void => {
    switch (c.kind) {
      case "compare":
        binding(c.left, `${field}.left`);
        binding(c.right, `${field}.right`);
        return;
      case "truthy":
        binding(c.value, `${field}.value`);
        return;
      case "not":
        condition(c.condition, `${field}.condition`);
        return;
      default:
        c.conditions.forEach((inner, i) => condition(inner, `${field}.conditions[${i}]`));
    }
  };
  const node = (n: Node, field: string): void => {
    for (const [k, b] of Object.entries(n.inputs)) binding(b, `${field}.inputs.${k}`);
    if (n.kind === "branch") {
      n.cases.forEach((c, i) => {
        condition(c.condition, `${field}.cases[${i}].condition`);
        node(c.node, `${field}.cases[${i}].node`);
      });
      if ("node" in n.otherwise) node(n.otherwise.node, `${field}.otherwise.node`);
    }
  };
  spec.nodes.forEach((n, i) => node(n, `spec.nodes[${i}]`));
  for (const [k, b] of Object.entries(spec.outputs)) binding(b, `spec.outputs.${k}`);
}

/** The body path of a node (and input) named by a compile error. */
function fieldOfNode(spec: WorkflowSpec, nodeId: string | undefined, input: string | undefined): string {
  if (nodeId === "(outputs)") return input !== undefined ? `spec.outputs.${input.split(/[.[]/)[0]}` : "spec.outputs";
  const hit = nodeId === undefined ? undefined : findNodePath(spec.nodes, nodeId, "spec.nodes");
  if (!hit) return "spec";
  return input !== undefined && input !== "(condition)" ? `${hit}.inputs.${input.split(/[.[]/)[0]}` : hit;
}

function findNodePath(nodes: readonly Node[], id: string, base: string): string | undefined {
  for (let i = 0; i < nodes.length; i++) {
    const n = nodes[i]!;
    const here = `${base}[${i}]`;
    if (n.id === id) return here;
    if (n.kind === "branch") {
      for (let j = 0; j < n.cases.length; j++) {
        const hit = findNodePath([n.cases[j]!.node], id, `${here}.cases[${j}].node`);
        if (hit) return hit.replace(/\[0\]$/, "");
      }
      if ("node" in n.otherwise) {
        const hit = findNodePath([n.otherwise.node], id, `${here}.otherwise.node`);
        if (hit) return hit.replace(/\[0\]$/, "");
      }
    }
  }
  return undefined;
}

/** Finds a node (nested ones included) of a workflow by id. */
export function findNode(nodes: readonly Node[], id: string): Node | undefined {
  for (const n of nodes) {
    if (n.id === id) return n;
    if (n.kind === "branch") {
      const inner = findNode([...n.cases.map((c) => c.node), ...("node" in n.otherwise ? [n.otherwise.node] : [])], id);
      if (inner) return inner;
    }
  }
  return undefined;
}

/** Checks a launch plan against its workflow: inputs, schedule. Returns the pinned workflow. */
async function checkLaunchPlan(deps: ApiDeps, project: string, domain: string, spec: LaunchPlanSpec): Promise<Identifier[]> {
  const { record } = await resolveRef(deps.store, project, domain, spec.workflow, "spec.workflow");
  const wf = record.spec as WorkflowSpec;
  const inputs = wf.interface.inputs;
  const known = Object.keys(inputs).join(", ") || "none";
  for (const kind of ["defaultInputs", "fixedInputs"] as const) {
    for (const [name, literal] of Object.entries(spec[kind])) {
      const field = `spec.${kind}.${name}`;
      const v = own(inputs, name);
      if (!v) throw badRequest(field, `workflow ${wf.name} has no input ${name} (inputs: ${known})`, API_ERRORS.INVALID_INPUTS);
      const problem = literalProblem(literal, v.type, field);
      if (problem) throw badRequest(field, problem, API_ERRORS.INVALID_INPUTS);
    }
    await checkBlobRefs(deps, project, spec[kind], `spec.${kind}`);
  }
  for (const name of Object.keys(spec.fixedInputs)) {
    if (has(spec.defaultInputs, name)) throw badRequest(`spec.fixedInputs.${name}`, `is also in defaultInputs; an input is either fixed or defaulted`, API_ERRORS.INVALID_INPUTS);
  }
  const schedule = spec.schedule;
  if (schedule) {
    if (schedule.kind === "cron") {
      try {
        parseCron(schedule.expression);
      } catch (error) {
        throw badRequest("spec.schedule.expression", isPetrelError(error) ? error.message : String(error), API_ERRORS.INVALID_SCHEDULE);
      }
      if (schedule.timezone !== undefined) {
        try {
          checkTimeZone(schedule.timezone);
        } catch (error) {
          throw badRequest("spec.schedule.timezone", isPetrelError(error) ? error.message : String(error), API_ERRORS.INVALID_SCHEDULE);
        }
      }
    }
    if (schedule.kind === "rate") {
      const min = deps.settings.minScheduleRateMs ?? DEFAULT_MIN_SCHEDULE_RATE_MS;
      if (schedule.everyMs < min) {
        throw badRequest(
          "spec.schedule.everyMs",
          `a fixed rate of ${formatMs(schedule.everyMs)} is below this server's minimum of ${formatMs(min)} (every ${min} ms)`,
          API_ERRORS.INVALID_SCHEDULE,
          { minimumMs: min },
        );
      }
    }
    const kickoff = schedule.kickoffTimeInput;
    if (kickoff !== undefined) {
      const v = own(inputs, kickoff);
      if (!v || !isAssignable({ kind: "datetime" }, v.type)) {
        throw badRequest("spec.schedule.kickoffTimeInput", `workflow ${wf.name} has no datetime input ${kickoff}`, API_ERRORS.INVALID_SCHEDULE);
      }
      if (has(spec.fixedInputs, kickoff)) throw badRequest("spec.schedule.kickoffTimeInput", `input ${kickoff} is fixed, so the schedule cannot set it`, API_ERRORS.INVALID_SCHEDULE);
    }
    for (const [name, v] of Object.entries(inputs)) {
      const satisfied = has(spec.fixedInputs, name) || has(spec.defaultInputs, name) || v.default !== undefined || v.type.kind === "optional" || name === kickoff;
      if (!satisfied) {
        throw badRequest("spec.schedule", `a scheduled launch plan must give every input a value; ${name} (${typeToString(v.type)}) has none`, API_ERRORS.INVALID_SCHEDULE);
      }
    }
  }
  return [record.id];
}

/** A duration for messages: "90s", "1m", "1500ms". */
function formatMs(ms: number): string {
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1_000 === 0) return `${ms / 1_000}s`;
  return `${ms}ms`;
}

/** The outcome of a promotion. */
export interface PromoteResult {
  status: 200 | 201;
  promoted: Identifier[];
  alreadyPresent: Identifier[];
}

/**
 * Registers an entity's exact version, and everything it references, in another
 * domain: same specs, same bundles, same pinned references (moved to that
 * domain). All or nothing; recorded with who and when.
 */
export async function promoteEntity(deps: ApiDeps, principal: Principal, id: Identifier, toDomain: string): Promise<PromoteResult> {
  if (!deps.settings.domains.includes(toDomain)) throw badRequest("toDomain", `unknown domain ${JSON.stringify(toDomain)} (domains: ${deps.settings.domains.join(", ")})`);
  if (toDomain === id.domain) throw badRequest("toDomain", `${describeId(id)} is already in ${toDomain}`);
  requireRole(principal, id.project, "editor", toDomain);
  const root = await deps.store.getEntity(id);
  if (!root) throw notFound(`${LABELS[id.resourceType]} ${id.name}@${id.version}`);
  // Dependencies first: a depth-first post-order over the pinned references.
  const order: EntityRecord[] = [];
  const seen = new Set<string>();
  const visit = async (record: EntityRecord) => {
    const key = refKey(record.id);
    if (seen.has(key)) return;
    seen.add(key);
    for (const ref of record.references) {
      const dep = await deps.store.getEntity(ref);
      if (!dep) throw new ApiError(500, API_ERRORS.INTERNAL, `${describeId(record.id)} refers to ${describeId(ref)}, which is no longer stored`);
      await visit(dep);
    }
    order.push(record);
  };
  await visit(root);
  const now = deps.clock.now();
  return deps.store.transaction(async (tx) => {
    const promoted: Identifier[] = [];
    const alreadyPresent: Identifier[] = [];
    for (const record of order) {
      const target: Identifier = { ...record.id, domain: toDomain };
      const result = await tx.registerEntity({
        id: target,
        spec: record.spec,
        ...(record.bundle !== undefined ? { bundle: record.bundle } : {}),
        digest: record.digest,
        references: record.references.map((r) => ({ ...r, domain: toDomain })),
        createdAt: now,
        createdBy: principal.name,
        promotedFrom: { fromDomain: id.domain, by: principal.name, at: now },
      });
      if (result.status === "conflict") throw conflict(result.existing, record.spec, record.bundle, target);
      if (result.status === "identical") {
        alreadyPresent.push(target);
        continue;
      }
      promoted.push(target);
      await tx.recordPromotion({ id: target, fromDomain: id.domain, by: principal.name, at: now });
    }
    return { status: promoted.length > 0 ? 201 : 200, promoted, alreadyPresent };
  });
}
