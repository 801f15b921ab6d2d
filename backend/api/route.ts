/**
 * Routes as data: method, path, body schema, who may call, how to authorize and
 * how to handle. The Hono app, the OpenAPI document and the isolation tests are
 * all made from the same table, so none of them can miss a route.
 */
import { NAME_PATTERN, blobsOf, type Literal, type WorkflowSpec } from "../../kernel/index.js";
import { BLOB_HASH_PATTERN } from "../blobs/index.js";
import type { Role } from "../store/index.js";
import { sliceArrowByRanges } from "./arrow-ranges.js";
import { ARROW_STREAM_TYPE, parseSlice, sliceArrow } from "./arrow.js";
import { canSee, requireRole } from "./auth.js";
import type { Principal, RouteContext } from "./context.js";
import { API_ERRORS, ApiError, badRequest, notFound } from "./errors.js";
import { loadLiterals } from "./literals-store.js";
import { findNode } from "./registry.js";
import { NODE_ID_PATTERN, VERSION_PATTERN, type ApiSchemaDef } from "./schemas.js";

/** Who may call a route. */
export type RouteAccess =
  /** No token needed. */
  | "public"
  /** Any valid token. */
  | "authenticated"
  /** The admin token only. */
  | "admin"
  /** Tokens with a role on the project in the path. */
  | "project"
  /** Project tokens, and node tokens scoped to the node in the path. */
  | "node";

/** A documented response. */
export interface ResponseDoc {
  description: string;
  /** An API schema entry, a model entry (`model:LiteralMap`), or a media type for binary bodies. */
  schema?: ApiSchemaDef | `model:${string}` | "binary" | "arrow" | "object";
}

/** A documented query parameter. */
export interface QueryDoc {
  name: string;
  description: string;
  type?: "string" | "integer";
  repeated?: boolean;
}

/** One route of the API. */
export interface RouteDef {
  method: "GET" | "POST" | "PUT" | "DELETE";
  /** Path under /api/v1 in OpenAPI form: `/projects/{project}`. */
  path: string;
  operationId: string;
  summary: string;
  tag: string;
  access: RouteAccess;
  /** JSON body schema; the body is parsed and validated before `handle`. */
  body?: ApiSchemaDef;
  /** An empty body is allowed (and validated as `{}`). */
  bodyOptional?: boolean;
  /** The body is raw bytes, streamed by the handler. */
  binaryBody?: boolean;
  query?: QueryDoc[];
  responses: Record<number, ResponseDoc>;
  /** Runs before the body is read: a caller who may not see the project gets 404 whatever it sent. */
  authorize?(ctx: RouteContext): Promise<void>;
  handle(ctx: RouteContext): Promise<Response>;
}

/** Path parameters and their patterns. */
export const PATH_PARAMS: Record<string, { pattern: RegExp; description: string }> = {
  project: { pattern: NAME_PATTERN, description: "Project name." },
  domain: { pattern: NAME_PATTERN, description: "Domain name." },
  name: { pattern: NAME_PATTERN, description: "Entity name." },
  version: { pattern: VERSION_PATTERN, description: "Entity version." },
  execution: { pattern: NAME_PATTERN, description: "Execution name." },
  node: { pattern: NODE_ID_PATTERN, description: "Node id (URL-encode `/`)." },
  var: { pattern: NAME_PATTERN, description: "Input or output name." },
  attempt: { pattern: /^(?:0|[1-9][0-9]{0,5})$/, description: "Attempt number, from 0." },
  hash: { pattern: BLOB_HASH_PATTERN, description: "Content hash, `sha256:<hex>`." },
  id: { pattern: /^tok_[A-Za-z0-9_-]{1,64}$/, description: "Token id." },
};

/** Checks every path parameter; 400 naming the parameter otherwise. */
export function checkParams(params: Record<string, string>): void {
  for (const [name, value] of Object.entries(params)) {
    const spec = PATH_PARAMS[name];
    if (!spec || spec.pattern.test(value)) continue;
    const control = /[\x00-\x1f\x7f]/.exec(value);
    const why = control
      ? `contains a control character (U+${control[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, "0")})`
      : value.includes("..") || value.startsWith("/") || value.includes("\\")
        ? `${JSON.stringify(value.slice(0, 80))} looks like a path; ${name} must match ${spec.pattern.source}`
        : `${JSON.stringify(value.slice(0, 80))} does not match ${spec.pattern.source}`;
    throw badRequest(name, `${why}`, API_ERRORS.INVALID_PARAMETER);
  }
}

/** A JSON response. */
export function json(ctx: RouteContext, status: number, data: unknown): Response {
  return ctx.c.json(data as object, status as 200);
}

// ---- authorization steps ----------------------------------------------------------------

/**
 * The caller needs `need` on the path's project (and in its domain, when the
 * path has one). 404 when the project is hidden or absent, or the domain is not
 * configured; 403 when the role is too weak.
 */
export function projectRole(need: Role): (ctx: RouteContext) => Promise<void> {
  return async (ctx) => {
    const { project, domain } = ctx.params;
    const p = ctx.principal;
    if (!canSee(p, project!)) throw notFound(`project ${project}`);
    if (!ctx.caches.projects.has(project!)) {
      if (!(await ctx.deps.store.getProject(project!))) throw notFound(`project ${project}`);
      ctx.caches.projects.add(project!);
    }
    if (domain !== undefined && !ctx.deps.settings.domains.includes(domain)) throw notFound(`domain ${domain}`);
    requireRole(p, project!, need, domain);
  };
}

/** A node token's scope covers the path's node. */
function nodeScopeCovers(p: Principal, params: Record<string, string>): boolean {
  const s = p.scope;
  return !!s && s.project === params.project && s.domain === params.domain && s.execution === params.execution && s.node === params.node;
}

/** Node routes: the node's own token, or a project role (viewer to read, editor to write). */
export function nodeAccess(need: "read" | "write"): (ctx: RouteContext) => Promise<void> {
  const users = projectRole(need === "read" ? "viewer" : "editor");
  return async (ctx) => {
    if (ctx.principal.kind === "node") {
      if (!nodeScopeCovers(ctx.principal, ctx.params)) throw notFound(`node ${ctx.params.node}`);
      return;
    }
    await users(ctx);
  };
}

/**
 * The blobs a node token may read: those in its node's inputs, outputs and
 * checkpoint, and its task's bundle.
 */
async function nodeReadableBlobs(ctx: RouteContext): Promise<Set<string>> {
  const s = ctx.principal.scope!;
  const key = { project: s.project, domain: s.domain, name: s.execution };
  const out = new Set<string>();
  const node = await ctx.deps.store.getNodeExecution(key, s.node);
  if (node) {
    for (const stored of [node.inputs, node.outputs]) {
      if (!stored) continue;
      if ("blob" in stored) out.add(stored.blob.hash);
      for (const literal of Object.values(await loadLiterals(ctx.deps, stored))) for (const b of blobsOf(literal)) out.add(b.hash);
    }
    if (node.checkpoint) out.add(node.checkpoint.hash);
  }
  if (node?.target?.resourceType === "task") {
    const task = await ctx.deps.store.getEntity(node.target);
    if (task?.bundle) out.add(task.bundle);
    return out;
  }
  const execution = await ctx.deps.store.getExecution(key);
  const workflow = execution && (await ctx.deps.store.getEntity(execution.workflow));
  const spec = workflow && findNode((workflow.spec as WorkflowSpec).nodes, s.node);
  if (spec && (spec.kind === "task" || spec.kind === "map")) {
    const version = spec.target.version ?? workflow.references.find((r) => r.resourceType === "task" && r.name === spec.target.name)?.version;
    const task = version !== undefined ? await ctx.deps.store.getEntity({ resourceType: "task", project: s.project, domain: s.domain, name: spec.target.name, version }) : undefined;
    if (task?.bundle) out.add(task.bundle);
  }
  return out;
}

/**
 * Blob routes: project viewers read and editors upload; a node token uploads
 * into its project and reads only the blobs its node can reach.
 */
export function blobAccess(need: "read" | "write"): (ctx: RouteContext) => Promise<void> {
  const users = projectRole(need === "read" ? "viewer" : "editor");
  return async (ctx) => {
    const p = ctx.principal;
    if (p.kind !== "node") return users(ctx);
    const { project, hash } = ctx.params;
    if (p.scope!.project !== project) throw notFound(`project ${project}`);
    if (need === "read" && !(await nodeReadableBlobs(ctx)).has(hash!)) throw notFound(`blob ${hash}`);
  };
}

// ---- blob responses ------------------------------------------------------------------------

/** Parses `Range: bytes=a-b` (one range; an open end means to the end). */
function parseRange(header: string | undefined, size: number): { start: number; end: number } | undefined {
  if (header === undefined) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === "" && m[2] === "")) throw new ApiError(416, "RANGE_NOT_SATISFIABLE", `range: ${JSON.stringify(header)} is not a single byte range`, { field: "range" });
  let start: number;
  let end: number;
  if (m[1] === "") {
    start = Math.max(0, size - Number(m[2]));
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === "" ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (start >= size || end < start) throw new ApiError(416, "RANGE_NOT_SATISFIABLE", `range: ${header} is outside the blob's ${size} bytes`, { field: "range" });
  return { start, end };
}

/**
 * Streams a blob: whole, a byte range (Range header), or for Arrow IPC blobs a
 * row range and column selection (`?offset=&limit=&columns=`).
 */
export async function streamBlob(ctx: RouteContext, hash: string, contentType = "application/octet-stream"): Promise<Response> {
  const { blobs } = ctx.deps;
  const slice = parseSlice(ctx.query);
  const stat = await blobs.stat(hash);
  if (!stat) throw notFound(`blob ${hash}`);
  if (slice) {
    // By byte ranges when the layout allows (a preview of a huge DataFrame reads only what it shows), else batch by batch.
    let bytes = await sliceArrowByRanges(blobs, hash, stat.size, slice);
    if (!bytes) {
      const read = await blobs.get(hash);
      if (!read) throw notFound(`blob ${hash}`);
      bytes = await sliceArrow(read.body, slice);
    }
    return new Response(bytes, { status: 200, headers: { "content-type": ARROW_STREAM_TYPE, "content-length": String(bytes.byteLength) } });
  }
  const range = parseRange(ctx.c.req.header("range"), stat.size);
  const read = await blobs.get(hash, range);
  if (!read) throw notFound(`blob ${hash}`);
  const headers: Record<string, string> = { "content-type": contentType, etag: `"${hash}"`, "accept-ranges": "bytes" };
  if (range) {
    headers["content-range"] = `bytes ${range.start}-${range.end}/${stat.size}`;
    headers["content-length"] = String(range.end - range.start + 1);
  } else {
    headers["content-length"] = String(read.size);
  }
  if (stat.size === 0) {
    read.body.destroy();
    return new Response(null, { status: 200, headers });
  }
  // ReadableStream.from over the Node stream: measurably cheaper per chunk than Readable.toWeb.
  return new Response(ReadableStream.from(read.body as AsyncIterable<Uint8Array>), { status: range ? 206 : 200, headers });
}

/** A literal that must be a blob reference, for the `/blob` data routes. */
export function blobOfLiteral(literal: Literal, what: string): string {
  if (literal.kind !== "blob") throw badRequest("var", `${what} is a ${literal.kind} literal, not a blob; read it as JSON without /blob`, API_ERRORS.INVALID_PARAMETER);
  return literal.blob.hash;
}
