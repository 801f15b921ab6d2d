/**
 * The HTTP API: versioned (/api/v1), JSON, validated against the model's JSON
 * Schema, described by OpenAPI at /api/v1/openapi.json, with bearer-token auth
 * and project isolation.
 *
 * @example
 * ```ts
 * import { createApi, API_ROUTES } from "petrel/backend";
 * const app = createApi({ store, blobs, clock, settings });
 * API_ROUTES.map((r) => `${r.method} ${r.path}`); // every route, as data
 * ```
 */
export { createApi, toApiError, API_PREFIX, API_VERSION, API_ROUTES } from "./app.js";
export type { ApiDeps, ApiSettings, AttemptKey, EngineHooks, LogSource, Principal } from "./context.js";
export { DEFAULT_MIN_SCHEDULE_RATE_MS } from "./context.js";
export { createExecution, type CreateExecutionBody, type CreateExecutionOptions } from "./executions.js";
export { nextScheduledRuns, upcomingTicks, DEFAULT_NEXT_RUNS } from "./schedules.js";
export { ApiError, isApiError, API_ERRORS, type ApiErrorCode } from "./errors.js";
export { authenticate, roleIn, canSee, ANONYMOUS, LOCAL_ADMIN } from "./auth.js";
export type { RouteDef, RouteAccess } from "./route.js";
export { API_SCHEMA, API_SCHEMA_ID, VERSION_PATTERN, NODE_ID_PATTERN, apiSchemaRef, type ApiSchemaDef } from "./schemas.js";
export { jsonDiff, type JsonDifference } from "./diff.js";
export { literalProblem } from "./literals.js";
export { storeLiterals, loadLiterals, checkBlobRefs } from "./literals-store.js";
export { registerBundle, registrationOrder, type BundleRegistration } from "./bundles.js";
export { buildOpenApi } from "./openapi.js";
