/**
 * The OpenAPI 3.1 document, made from the route table and the JSON Schemas, so
 * it cannot drift from what the server does. Served at GET /api/v1/openapi.json.
 */
import { MODEL_SCHEMA, MODEL_SCHEMA_ID } from "../../kernel/index.js";
import { PATH_PARAMS, type ResponseDoc, type RouteDef } from "./route.js";
import { API_SCHEMA, API_SCHEMA_ID } from "./schemas.js";

/** Rewrites every `$ref` (absolute or `#/$defs/X`) to `#/components/schemas/X`. */
function rewriteRefs(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(rewriteRefs);
  if (value === null || typeof value !== "object") return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (k === "$ref" && typeof v === "string") {
      const name = v.replace(`${MODEL_SCHEMA_ID}#/$defs/`, "").replace(`${API_SCHEMA_ID}#/$defs/`, "").replace("#/$defs/", "");
      out[k] = `#/components/schemas/${name}`;
    } else {
      out[k] = rewriteRefs(v);
    }
  }
  return out;
}

function responseSchema(doc: ResponseDoc): Record<string, unknown> | undefined {
  switch (doc.schema) {
    case undefined:
      return undefined;
    case "binary":
      return { "application/octet-stream": { schema: { type: "string", contentMediaType: "application/octet-stream" } } };
    case "arrow":
      return { "application/vnd.apache.arrow.stream": { schema: { type: "string" } } };
    case "object":
      return { "application/json": { schema: { type: "object" } } };
    default: {
      const name = doc.schema.startsWith("model:") ? doc.schema.slice("model:".length) : doc.schema;
      return { "application/json": { schema: { $ref: `#/components/schemas/${name}` } } };
    }
  }
}

/** Builds the OpenAPI document for `routes` mounted under `prefix`. */
export function buildOpenApi(routes: readonly RouteDef[], prefix: string, version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const params = [...r.path.matchAll(/\{([A-Za-z]+)\}/g)].map((m) => m[1]!);
    const operation: Record<string, unknown> = {
      operationId: r.operationId,
      summary: r.summary,
      tags: [r.tag],
      "x-petrel-access": r.access,
      parameters: [
        ...params.map((name) => ({
          name,
          in: "path",
          required: true,
          description: PATH_PARAMS[name]?.description,
          schema: { type: "string", ...(PATH_PARAMS[name] ? { pattern: PATH_PARAMS[name].pattern.source } : {}) },
        })),
        ...(r.query ?? []).map((q) => ({
          name: q.name,
          in: "query",
          required: false,
          description: q.description,
          ...(q.repeated ? { explode: true } : {}),
          schema: q.repeated ? { type: "array", items: { type: q.type ?? "string" } } : { type: q.type ?? "string" },
        })),
      ],
      responses: Object.fromEntries(
        Object.entries({
          ...r.responses,
          ...(r.access !== "public" ? { 401: { description: "Missing or invalid token.", schema: "Error" } } : {}),
          ...(r.access === "project" || r.access === "node" ? { 404: r.responses[404] ?? { description: "Absent, or hidden from the caller.", schema: "Error" } } : {}),
          ...(r.body ? { 400: r.responses[400] ?? { description: "Malformed JSON, schema violation or unknown field (the field is named).", schema: "Error" } } : {}),
        } as Record<string, ResponseDoc>).map(([status, doc]) => {
          const content = responseSchema(doc);
          return [status, { description: doc.description, ...(content ? { content } : {}) }];
        }),
      ),
      ...(r.access === "public" ? { security: [] } : {}),
    };
    if (r.body) {
      operation.requestBody = { required: !r.bodyOptional, content: { "application/json": { schema: { $ref: `#/components/schemas/${r.body}` } } } };
    } else if (r.binaryBody) {
      operation.requestBody = { required: true, content: { "application/octet-stream": { schema: { type: "string", contentMediaType: "application/octet-stream" } } } };
    }
    (paths[`${prefix}${r.path}`] ??= {})[r.method.toLowerCase()] = operation;
  }
  paths[`${prefix}/openapi.json`] = {
    get: { operationId: "openapi", summary: "This document.", tags: ["meta"], security: [], responses: { 200: { description: "OpenAPI 3.1." } } },
  };
  paths[`${prefix}/health`] = {
    get: { operationId: "health", summary: "Liveness.", tags: ["meta"], security: [], responses: { 200: { description: "OK." } } },
  };
  const schemas: Record<string, unknown> = {};
  for (const [name, schema] of Object.entries(MODEL_SCHEMA.$defs)) schemas[name] = rewriteRefs(schema);
  for (const [name, schema] of Object.entries(API_SCHEMA.$defs)) schemas[name] = rewriteRefs(schema);
  return {
    openapi: "3.1.0",
    jsonSchemaDialect: "https://json-schema.org/draft/2020-12/schema",
    info: {
      title: "Petrel backend",
      version,
      description:
        "The control plane of Petrel: projects and domains, bundles and data blobs, tasks, workflows and launch plans (immutable versions), executions, nodes and the data API. Every error is `{error: {code, message, field?}}`; a project the caller cannot see answers 404, exactly like one that does not exist.",
    },
    components: { securitySchemes: { bearer: { type: "http", scheme: "bearer" } }, schemas },
    security: [{ bearer: [] }],
    paths,
  };
}
