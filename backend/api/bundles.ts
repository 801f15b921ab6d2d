/**
 * Registering a whole bundle in one request: every task, workflow and launch
 * plan its manifest defines, dependencies first, each under one version (the
 * bundle's hash by default). Each registration is the same as its own PUT, so
 * registering again is a no-op and different content under the version is a 409.
 */
import { decodeBundle, type EntitySet, type Identifier, type Node, type ResourceType } from "../../kernel/index.js";
import type { ApiDeps, Principal } from "./context.js";
import { API_ERRORS, ApiError, badRequest, notFound } from "./errors.js";
import { registerEntity, type RegisterBody } from "./registry.js";
import type { ApiSchemaDef } from "./schemas.js";
import { validateBody } from "./validation.js";

/** One entity to register. */
export interface BundleEntry {
  resourceType: ResourceType;
  name: string;
  spec: unknown;
}

/** A bundle's entities in an order that registers what each one names before it. */
export function registrationOrder(specs: EntitySet): BundleEntry[] {
  const out: BundleEntry[] = specs.tasks.map((spec) => ({ resourceType: "task", name: spec.name, spec }));
  const workflows = new Map(specs.workflows.map((w) => [w.name, w]));
  const plans = new Map(specs.launchPlans.map((l) => [l.name, l]));
  const done = new Set<string>();
  const visit = (kind: "workflow" | "launch_plan", name: string): void => {
    const key = `${kind}:${name}`;
    if (done.has(key)) return;
    done.add(key);
    if (kind === "launch_plan") {
      const lp = plans.get(name);
      if (!lp) return;
      visit("workflow", lp.workflow.name);
      out.push({ resourceType: "launch_plan", name, spec: lp });
      return;
    }
    const wf = workflows.get(name);
    if (!wf) return;
    const walk = (nodes: readonly Node[]) => {
      for (const n of nodes) {
        if (n.kind === "workflow") visit("workflow", n.target.name);
        if (n.kind === "launch_plan") visit("launch_plan", n.target.name);
        if (n.kind === "branch") walk([...n.cases.map((c) => c.node), ...("node" in n.otherwise ? [n.otherwise.node] : [])]);
      }
    };
    walk(wf.nodes);
    out.push({ resourceType: "workflow", name, spec: wf });
  };
  for (const w of specs.workflows) visit("workflow", w.name);
  for (const l of specs.launchPlans) visit("launch_plan", l.name);
  return out;
}

const BODIES: Record<ResourceType, ApiSchemaDef> = { task: "RegisterTaskRequest", workflow: "RegisterWorkflowRequest", launch_plan: "RegisterLaunchPlanRequest" };

/** What registering a bundle did, entity by entity. */
export interface BundleRegistration {
  bundle: string;
  version: string;
  entities: { id: Identifier; status: "created" | "identical" }[];
}

/** Registers every entity of an uploaded bundle into a domain. */
export async function registerBundle(deps: ApiDeps, principal: Principal, project: string, domain: string, hash: string, version: string = hash): Promise<BundleRegistration> {
  if (!(await deps.store.getProjectBlob(project, hash))) throw notFound(`bundle ${hash}`);
  const read = await deps.blobs.get(hash);
  if (!read) throw new ApiError(500, API_ERRORS.INTERNAL, `bundle ${hash} is missing from the blob store`);
  const chunks: Buffer[] = [];
  for await (const chunk of read.body) chunks.push(chunk as Buffer);
  let specs: EntitySet;
  try {
    specs = decodeBundle(Buffer.concat(chunks), hash).manifest.specs;
  } catch (e) {
    throw badRequest("hash", `bundle ${hash} cannot be read: ${(e as Error).message}`);
  }
  const entities: BundleRegistration["entities"] = [];
  for (const entry of registrationOrder(specs)) {
    const body = validateBody<RegisterBody>(BODIES[entry.resourceType], entry.resourceType === "launch_plan" ? { spec: entry.spec } : { spec: entry.spec, bundle: hash });
    const id: Identifier = { resourceType: entry.resourceType, project, domain, name: entry.name, version };
    const { status } = await registerEntity(deps, principal, id, body);
    entities.push({ id, status: status === 201 ? "created" : "identical" });
  }
  return { bundle: hash, version, entities };
}
