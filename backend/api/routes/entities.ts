/** Tasks, workflows and launch plans: register, get, list, promote; launch plans also activate. */
import type { Identifier, ResourceType } from "../../../kernel/index.js";
import type { RouteContext } from "../context.js";
import { notFound } from "../errors.js";
import { parsePage } from "../executions.js";
import { registerBundle } from "../bundles.js";
import { promoteEntity, registerEntity, RESOURCE_SEGMENTS, type RegisterBody } from "../registry.js";
import { json, projectRole, type RouteDef } from "../route.js";
import type { ApiSchemaDef } from "../schemas.js";
import { entityView, nameView, versionView } from "../views.js";

const idOf = (ctx: RouteContext, resourceType: ResourceType): Identifier => ({
  resourceType,
  project: ctx.params.project!,
  domain: ctx.params.domain!,
  name: ctx.params.name!,
  version: ctx.params.version!,
});

const PAGE_QUERY = [
  { name: "limit", description: "Page size (1-1000, default 100).", type: "integer" as const },
  { name: "cursor", description: "The `next` of the previous page." },
];

const REGISTER_BODIES: Record<ResourceType, ApiSchemaDef> = {
  task: "RegisterTaskRequest",
  workflow: "RegisterWorkflowRequest",
  launch_plan: "RegisterLaunchPlanRequest",
};

const TITLES: Record<ResourceType, [string, string]> = { task: ["Task", "task"], workflow: ["Workflow", "workflow"], launch_plan: ["LaunchPlan", "launch plan"] };

function entityRoutes(resourceType: ResourceType): RouteDef[] {
  const segment = RESOURCE_SEGMENTS[resourceType];
  const [Title, label] = TITLES[resourceType];
  const base = `/projects/{project}/domains/{domain}/${segment}`;
  return [
    {
      method: "PUT",
      path: `${base}/{name}/versions/{version}`,
      operationId: `register${Title}`,
      summary: `Registers a ${label} version. Identical content again: 200, no change. Different content under the version: 409 with the differing paths.${
        resourceType === "workflow" ? " The workflow is compiled against the domain: targets registered, bindings typed, no cycles." : ""
      }${resourceType === "launch_plan" ? " The workflow must be registered; inputs and cron are checked." : ""}`,
      tag: "entities",
      access: "project",
      body: REGISTER_BODIES[resourceType],
      responses: {
        201: { description: "Registered.", schema: "object" },
        200: { description: "Already registered with identical content.", schema: "object" },
        400: { description: "Invalid spec, unknown reference, compile error.", schema: "Error" },
        409: { description: "The version holds different content.", schema: "Error" },
      },
      authorize: projectRole("editor"),
      async handle(ctx) {
        const { status, record } = await registerEntity(ctx.deps, ctx.principal, idOf(ctx, resourceType), ctx.body as RegisterBody);
        return json(ctx, status, entityView(record));
      },
    },
    {
      method: "GET",
      path: base,
      operationId: `list${Title}s`,
      summary: `Names of the ${label}s in a domain, with their latest versions.`,
      tag: "entities",
      access: "project",
      query: PAGE_QUERY,
      responses: { 200: { description: "A page of names.", schema: "object" } },
      authorize: projectRole("viewer"),
      async handle(ctx) {
        const page = await ctx.deps.store.listEntityNames(resourceType, ctx.params.project!, ctx.params.domain!, parsePage(ctx.query));
        return json(ctx, 200, { items: page.items.map(nameView), ...(page.next ? { next: page.next } : {}) });
      },
    },
    {
      method: "GET",
      path: `${base}/{name}/versions`,
      operationId: `list${Title}Versions`,
      summary: `Versions of a ${label}, newest first.`,
      tag: "entities",
      access: "project",
      query: PAGE_QUERY,
      responses: { 200: { description: "A page of versions.", schema: "object" } },
      authorize: projectRole("viewer"),
      async handle(ctx) {
        const { project, domain, name } = ctx.params as Record<string, string>;
        const page = await ctx.deps.store.listEntityVersions(resourceType, project, domain, name, parsePage(ctx.query));
        if (page.items.length === 0 && ctx.query.get("cursor") === null) throw notFound(`${label} ${name}`);
        return json(ctx, 200, { items: page.items.map(versionView), ...(page.next ? { next: page.next } : {}) });
      },
    },
    {
      method: "GET",
      path: `${base}/{name}/versions/{version}`,
      operationId: `get${Title}`,
      summary: `One ${label} version: spec, bundle, pinned references, who registered or promoted it.`,
      tag: "entities",
      access: "project",
      responses: { 200: { description: `The ${label}.`, schema: "object" } },
      authorize: projectRole("viewer"),
      async handle(ctx) {
        const record = await ctx.deps.store.getEntity(idOf(ctx, resourceType));
        if (!record) throw notFound(`${label} ${ctx.params.name}@${ctx.params.version}`);
        return json(ctx, 200, entityView(record));
      },
    },
    {
      method: "POST",
      path: `${base}/{name}/versions/{version}/promote`,
      operationId: `promote${Title}`,
      summary: `Registers this exact ${label} version, and what it references, in another domain (same specs and bundles), recording who and when. Needs editor in the target domain.`,
      tag: "entities",
      access: "project",
      body: "PromoteRequest",
      responses: {
        201: { description: "Promoted.", schema: "object" },
        200: { description: "Already present in the target domain.", schema: "object" },
        409: { description: "The target domain holds different content under the version.", schema: "Error" },
      },
      authorize: projectRole("viewer"),
      async handle(ctx) {
        const result = await promoteEntity(ctx.deps, ctx.principal, idOf(ctx, resourceType), (ctx.body as { toDomain: string }).toDomain);
        return json(ctx, result.status, { promoted: result.promoted, alreadyPresent: result.alreadyPresent });
      },
    },
  ];
}

const launchPlanState: RouteDef[] = [
  ...(["activate", "deactivate"] as const).map(
    (action): RouteDef => ({
      method: "POST",
      path: `/projects/{project}/domains/{domain}/launch-plans/{name}/versions/{version}/${action}`,
      operationId: `${action}LaunchPlan`,
      summary:
        action === "activate"
          ? "Makes this version the active one of its name (deactivating the previous): its schedule runs, and executions by name use it."
          : "Deactivates this version.",
      tag: "entities",
      access: "project",
      responses: { 200: { description: "The launch plan and the version active before.", schema: "object" } },
      authorize: projectRole("editor"),
      async handle(ctx) {
        const id = idOf(ctx, "launch_plan");
        const result = await ctx.deps.store.setLaunchPlanActive(id, action === "activate");
        if (!result) throw notFound(`launch plan ${id.name}@${id.version}`);
        const record = (await ctx.deps.store.getEntity(id))!;
        return json(ctx, 200, { ...entityView(record), previousActiveVersion: result.previous });
      },
    }),
  ),
  {
    method: "GET",
    path: "/projects/{project}/domains/{domain}/launch-plans/{name}/active",
    operationId: "getActiveLaunchPlan",
    summary: "The active version of a launch plan.",
    tag: "entities",
    access: "project",
    responses: { 200: { description: "The active launch plan.", schema: "object" }, 404: { description: "None is active.", schema: "Error" } },
    authorize: projectRole("viewer"),
    async handle(ctx) {
      const record = await ctx.deps.store.getActiveLaunchPlan(ctx.params.project!, ctx.params.domain!, ctx.params.name!);
      if (!record) throw notFound(`active version of launch plan ${ctx.params.name}`);
      return json(ctx, 200, entityView(record));
    },
  },
];

const bundleRegistration: RouteDef = {
  method: "POST",
  path: "/projects/{project}/domains/{domain}/bundles/{hash}/register",
  operationId: "registerBundle",
  summary:
    "Registers every task, workflow and launch plan an uploaded bundle defines, dependencies first, under one version (default: the bundle's hash). Registering again is a no-op; different content under the version is a 409.",
  tag: "entities",
  access: "project",
  body: "RegisterBundleRequest",
  bodyOptional: true,
  responses: {
    201: { description: "Registered; each entity created or already identical.", schema: "object" },
    400: { description: "Not a bundle, or an entity does not compile.", schema: "Error" },
    409: { description: "An entity's version holds different content.", schema: "Error" },
  },
  authorize: projectRole("editor"),
  async handle(ctx) {
    const { project, domain, hash } = ctx.params as { project: string; domain: string; hash: string };
    return json(ctx, 201, await registerBundle(ctx.deps, ctx.principal, project, domain, hash, (ctx.body as { version?: string }).version));
  },
};

export const entityRouteDefs: RouteDef[] = [...entityRoutes("task"), ...entityRoutes("workflow"), ...entityRoutes("launch_plan"), ...launchPlanState, bundleRegistration];
