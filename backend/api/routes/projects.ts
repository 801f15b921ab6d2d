/** Projects, domains and the caller's identity. */
import { canSee } from "../auth.js";
import { API_ERRORS, ApiError, notFound } from "../errors.js";
import { json, projectRole, type RouteDef } from "../route.js";
import { projectView, promotionView } from "../views.js";

interface CreateProjectBody {
  name: string;
  description?: string;
  labels?: Record<string, string>;
}

export const projectRoutes: RouteDef[] = [
  {
    method: "GET",
    path: "/whoami",
    operationId: "whoami",
    summary: "The caller: name, kind, grants, and a node token's scope.",
    tag: "auth",
    access: "authenticated",
    responses: { 200: { description: "The principal.", schema: "object" } },
    async handle(ctx) {
      const p = ctx.principal;
      return json(ctx, 200, { name: p.name, kind: p.kind, grants: p.grants, ...(p.scope ? { scope: p.scope } : {}), ...(p.tokenId ? { tokenId: p.tokenId } : {}) });
    },
  },
  {
    method: "GET",
    path: "/domains",
    operationId: "listDomains",
    summary: "The domains every project has, in promotion order.",
    tag: "projects",
    access: "authenticated",
    responses: { 200: { description: "Domain names.", schema: "object" } },
    async handle(ctx) {
      return json(ctx, 200, { domains: ctx.deps.settings.domains });
    },
  },
  {
    method: "POST",
    path: "/projects",
    operationId: "createProject",
    summary: "Creates a project (admin token only).",
    tag: "projects",
    access: "admin",
    body: "CreateProjectRequest",
    responses: { 201: { description: "Created." }, 409: { description: "The name is taken.", schema: "Error" } },
    async handle(ctx) {
      const body = ctx.body as CreateProjectBody;
      const record = { name: body.name, description: body.description ?? "", labels: body.labels ?? {}, createdAt: ctx.deps.clock.now(), createdBy: ctx.principal.name };
      if (!(await ctx.deps.store.createProject(record))) {
        throw new ApiError(409, API_ERRORS.ALREADY_EXISTS, `name: project ${body.name} already exists`, { field: "name" });
      }
      return json(ctx, 201, projectView(record, ctx.deps.settings.domains));
    },
  },
  {
    method: "GET",
    path: "/projects",
    operationId: "listProjects",
    summary: "The projects the caller can see.",
    tag: "projects",
    access: "authenticated",
    responses: { 200: { description: "Projects.", schema: "object" } },
    async handle(ctx) {
      const p = ctx.principal;
      const names = p.kind === "admin" ? undefined : [...new Set(p.grants.map((g) => g.project))];
      const projects = await ctx.deps.store.listProjects(names);
      return json(ctx, 200, { items: projects.filter((x) => canSee(p, x.name)).map((x) => projectView(x, ctx.deps.settings.domains)) });
    },
  },
  {
    method: "GET",
    path: "/projects/{project}",
    operationId: "getProject",
    summary: "Describes a project.",
    tag: "projects",
    access: "project",
    responses: { 200: { description: "The project.", schema: "object" }, 404: { description: "Absent or hidden.", schema: "Error" } },
    authorize: projectRole("viewer"),
    async handle(ctx) {
      const project = await ctx.deps.store.getProject(ctx.params.project!);
      if (!project) throw notFound(`project ${ctx.params.project}`);
      return json(ctx, 200, projectView(project, ctx.deps.settings.domains));
    },
  },
  {
    method: "GET",
    path: "/projects/{project}/promotions",
    operationId: "listPromotions",
    summary: "Every promotion in a project: what, from which domain to which, who and when.",
    tag: "entities",
    access: "project",
    query: [{ name: "name", description: "Only this entity name." }],
    responses: { 200: { description: "Promotions, oldest first.", schema: "object" } },
    authorize: projectRole("viewer"),
    async handle(ctx) {
      const name = ctx.query.get("name") ?? undefined;
      const items = await ctx.deps.store.listPromotions(ctx.params.project!, name);
      return json(ctx, 200, { items: items.map(promotionView) });
    },
  },
];
