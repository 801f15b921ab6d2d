/** Tokens: the admin (or a project admin, for its projects) creates them; a token can read and revoke itself. */
import type { Grant } from "../../store/index.js";
import { canSee, roleIn } from "../auth.js";
import { API_ERRORS, ApiError, badRequest, notFound } from "../errors.js";
import { json, type RouteDef } from "../route.js";
import { tokenView } from "../views.js";

interface CreateTokenBody {
  name: string;
  grants: Grant[];
  expiresInMs?: number;
}

export const tokenRoutes: RouteDef[] = [
  {
    method: "POST",
    path: "/tokens",
    operationId: "createToken",
    summary: "Creates a user token with project grants. The secret is in the response, once.",
    tag: "auth",
    access: "authenticated",
    body: "CreateTokenRequest",
    responses: { 201: { description: "The token and its secret.", schema: "object" }, 403: { description: "Not an admin of a granted project.", schema: "Error" } },
    async handle(ctx) {
      const body = ctx.body as CreateTokenBody;
      const p = ctx.principal;
      if (p.kind !== "admin" && body.grants.length === 0) {
        throw new ApiError(403, API_ERRORS.FORBIDDEN, "grants: only the admin token creates tokens without grants");
      }
      for (const [i, g] of body.grants.entries()) {
        // A project the caller cannot see does not exist, as far as it knows.
        if (!canSee(p, g.project) || !(await ctx.deps.store.getProject(g.project))) {
          if (p.kind === "admin") throw badRequest(`grants[${i}].project`, `project ${g.project} does not exist`, API_ERRORS.UNKNOWN_REFERENCE);
          throw notFound(`project ${g.project}`);
        }
        if (roleIn(p, g.project) !== "admin") {
          throw new ApiError(403, API_ERRORS.FORBIDDEN, `grants[${i}]: granting on project ${g.project} needs its admin role`, { field: `grants[${i}].project` });
        }
        for (const d of g.domains ?? []) {
          if (!ctx.deps.settings.domains.includes(d)) throw badRequest(`grants[${i}].domains`, `unknown domain ${d} (domains: ${ctx.deps.settings.domains.join(", ")})`);
        }
      }
      const created = await ctx.deps.store.createToken({
        name: body.name,
        kind: "user",
        grants: body.grants,
        createdBy: p.name,
        ...(body.expiresInMs !== undefined ? { expiresAt: ctx.deps.clock.now() + body.expiresInMs } : {}),
      });
      return json(ctx, 201, { token: created.token, ...tokenView(created.record) });
    },
  },
  {
    method: "GET",
    path: "/tokens/{id}",
    operationId: "getToken",
    summary: "Describes a token (the admin, or the token itself).",
    tag: "auth",
    access: "authenticated",
    responses: { 200: { description: "The token, without its secret.", schema: "object" } },
    async handle(ctx) {
      const { id } = ctx.params;
      if (ctx.principal.kind !== "admin" && ctx.principal.tokenId !== id) throw notFound(`token ${id}`);
      const token = await ctx.deps.store.getToken(id!);
      if (!token) throw notFound(`token ${id}`);
      return json(ctx, 200, tokenView(token));
    },
  },
  {
    method: "DELETE",
    path: "/tokens/{id}",
    operationId: "revokeToken",
    summary: "Revokes a token (the admin, or the token itself).",
    tag: "auth",
    access: "authenticated",
    responses: { 200: { description: "Revoked.", schema: "object" } },
    async handle(ctx) {
      const { id } = ctx.params;
      if (ctx.principal.kind !== "admin" && ctx.principal.tokenId !== id) throw notFound(`token ${id}`);
      if (!(await ctx.deps.store.revokeToken(id!))) throw notFound(`token ${id}`);
      return json(ctx, 200, { id, revoked: true });
    },
  },
];
