/**
 * The HTTP API as a Hono app: every route of the table mounted under /api/v1
 * with the same steps — authenticate, check path parameters, authorize (before
 * the body is read, so a hidden project answers 404 whatever was sent), read
 * and validate the JSON body, handle — and one error shape.
 */
import { Hono, type Context } from "hono";
import { isPetrelError, isWorkflowCompileError } from "../../kernel/index.js";
import { BLOB_ERRORS, isBlobStoreError } from "../blobs/index.js";
import { STORE_ERRORS, isStoreError } from "../store/index.js";
import { ANONYMOUS, authenticate } from "./auth.js";
import type { ApiCaches, ApiDeps, RouteContext } from "./context.js";
import { API_ERRORS, ApiError, badRequest, isApiError, notFound } from "./errors.js";
import { readJson } from "./http.js";
import { buildOpenApi } from "./openapi.js";
import { checkParams, type RouteDef } from "./route.js";
import { blobRouteDefs } from "./routes/blobs.js";
import { entityRouteDefs } from "./routes/entities.js";
import { executionRouteDefs } from "./routes/executions.js";
import { projectRoutes } from "./routes/projects.js";
import { scheduleRouteDefs } from "./routes/schedules.js";
import { tokenRoutes } from "./routes/tokens.js";
import { validateBody } from "./validation.js";

/** Where the API is mounted. */
export const API_PREFIX = "/api/v1";
/** The API's version, as the OpenAPI document states it. */
export const API_VERSION = "1.0.0";

/** Every route of the API. */
export const API_ROUTES: readonly RouteDef[] = [...projectRoutes, ...tokenRoutes, ...blobRouteDefs, ...entityRouteDefs, ...executionRouteDefs, ...scheduleRouteDefs];

const honoPath = (path: string) => path.replace(/\{([A-Za-z]+)\}/g, ":$1");

/** Any thrown value as the API error it is answered with. */
export function toApiError(error: unknown): ApiError {
  if (isApiError(error)) return error;
  if (isStoreError(error) && error.code === STORE_ERRORS.BAD_CURSOR) return badRequest("cursor", error.message, API_ERRORS.INVALID_PARAMETER);
  if (isBlobStoreError(error)) {
    if (error.code === BLOB_ERRORS.BAD_RANGE) return new ApiError(416, "RANGE_NOT_SATISFIABLE", error.message, { field: "range" });
    if (error.code === BLOB_ERRORS.INVALID_KEY) return badRequest("hash", error.message, API_ERRORS.INVALID_PARAMETER);
  }
  if (isWorkflowCompileError(error)) return new ApiError(400, API_ERRORS.WORKFLOW_COMPILE, error.message, { field: "spec", details: error.details });
  if (isPetrelError(error) && error.name === "CronError") return new ApiError(400, API_ERRORS.INVALID_SCHEDULE, error.message, { field: "spec.schedule" });
  return new ApiError(500, API_ERRORS.INTERNAL, "internal error; the server log has the details", { cause: error });
}

function errorResponse(c: Context, error: ApiError): Response {
  const headers: Record<string, string> = error.status === 401 ? { "www-authenticate": 'Bearer realm="petrel"' } : {};
  return c.json(error.toJSON(), error.status as 400, headers);
}

/**
 * The API over a store, a blob store and a clock.
 *
 * @example
 * ```ts
 * const app = createApi({ store, blobs, clock: systemClock, settings: DEFAULT_API_SETTINGS });
 * const res = await app.request("/api/v1/projects", { headers: { authorization: `Bearer ${token}` } });
 * ```
 */
export function createApi(deps: ApiDeps): Hono {
  const app = new Hono();
  const caches: ApiCaches = { projects: new Set() };
  let openapi: Record<string, unknown> | undefined;
  app.get(`${API_PREFIX}/openapi.json`, (c) => c.json((openapi ??= buildOpenApi(API_ROUTES, API_PREFIX, API_VERSION))));
  app.get(`${API_PREFIX}/health`, (c) => c.json({ status: "ok" }));

  for (const route of API_ROUTES) {
    app.on(route.method, `${API_PREFIX}${honoPath(route.path)}`, async (c) => {
      const principal = route.access === "public" ? ANONYMOUS : await authenticate(deps, c.req.header("authorization"));
      const params = c.req.param() as Record<string, string>;
      if (principal.kind === "node" && route.access !== "node" && route.operationId !== "whoami") {
        // A node token sees nothing but its node: every other route is as if absent.
        throw notFound(params.project !== undefined ? `project ${params.project}` : "route");
      }
      if (route.access === "admin" && principal.kind !== "admin") {
        throw new ApiError(403, API_ERRORS.FORBIDDEN, `${route.operationId} needs the admin token`);
      }
      checkParams(params);
      const ctx: RouteContext = { c, deps, caches, principal, params, query: new URL(c.req.url).searchParams, body: undefined };
      if (route.authorize) await route.authorize(ctx);
      if (route.body) {
        const raw = await readJson(c, deps.settings.maxJsonBytes);
        if (raw === undefined && !route.bodyOptional) throw badRequest("body", "expected a JSON object, got an empty body");
        ctx.body = validateBody(route.body, raw ?? {});
      }
      return route.handle(ctx);
    });
  }

  app.notFound((c) => errorResponse(c, notFound(`route ${c.req.method} ${new URL(c.req.url).pathname}`)));
  app.onError((error, c) => {
    const api = toApiError(error);
    if (api.status >= 500) (deps.onError ?? ((e: unknown) => console.error("petrel backend:", e)))(error, c.req.raw);
    return errorResponse(c, api);
  });
  return app;
}
