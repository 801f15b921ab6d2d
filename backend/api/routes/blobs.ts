/**
 * Blob upload and download: bundles and data (Arrow IPC DataFrames, files).
 * Uploads stream straight into the blob store, hashed on the way; bytes that do
 * not match the hash in the path are rejected and nothing is stored.
 */
import { isBlobStoreError, BLOB_ERRORS } from "../../blobs/index.js";
import type { BlobKind } from "../../store/index.js";
import { API_ERRORS, ApiError, notFound } from "../errors.js";
import { declaredLength, requestChunks, tooLarge } from "../http.js";
import { blobAccess, json, streamBlob, type RouteDef } from "../route.js";
import type { RouteContext } from "../context.js";

async function upload(ctx: RouteContext, kind: BlobKind): Promise<Response> {
  const { project, hash } = ctx.params as { project: string; hash: string };
  const { blobs, store, settings, clock } = ctx.deps;
  const limit = settings.maxBlobBytes;
  const length = declaredLength(ctx.c);
  if (length !== undefined && length > limit) throw tooLarge(limit);
  let result;
  try {
    result = await blobs.put(hash, requestChunks(ctx.c), { maxBytes: limit, ...(length !== undefined ? { expectedSize: length } : {}) });
  } catch (error) {
    if (!isBlobStoreError(error)) throw error;
    switch (error.code) {
      case BLOB_ERRORS.TOO_LARGE:
        throw tooLarge(limit);
      case BLOB_ERRORS.INTEGRITY:
        throw new ApiError(400, API_ERRORS.BLOB_INTEGRITY, `body: ${error.message}`, { field: "body", details: error.details });
      case BLOB_ERRORS.SIZE_MISMATCH:
        throw new ApiError(400, API_ERRORS.INVALID_PARAMETER, `content-length: ${error.message}`, { field: "content-length" });
      default:
        throw new ApiError(400, API_ERRORS.INVALID_PARAMETER, error.message, { field: "hash" });
    }
  }
  const before = await store.getProjectBlob(project, hash);
  if (!before) await store.addProjectBlob({ project, hash, size: result.size, kind, createdAt: clock.now(), createdBy: ctx.principal.name });
  return json(ctx, before ? 200 : 201, { hash, size: result.size, kind: before?.kind ?? kind });
}

async function download(ctx: RouteContext): Promise<Response> {
  const { project, hash } = ctx.params as { project: string; hash: string };
  if (!(await ctx.deps.store.getProjectBlob(project, hash))) throw notFound(`blob ${hash}`);
  return streamBlob(ctx, hash);
}

/**
 * Where a blob can be read directly: its file on the server's host for a file blob
 * store (a client on the same host reads it at disk speed; the path names the hash,
 * and the file was renamed into place whole), nothing otherwise.
 */
async function location(ctx: RouteContext): Promise<Response> {
  const { project, hash } = ctx.params as { project: string; hash: string };
  if (!(await ctx.deps.store.getProjectBlob(project, hash))) throw notFound(`blob ${hash}`);
  const stat = await ctx.deps.blobs.stat(hash);
  if (!stat) throw notFound(`blob ${hash}`);
  const file = ctx.deps.blobs.localPath?.(hash);
  return json(ctx, 200, { hash, size: stat.size, ...(file ? { file } : {}) });
}

const SLICE_QUERY = [
  { name: "offset", description: "Arrow blobs: first row (default 0).", type: "integer" as const },
  { name: "limit", description: "Arrow blobs: most rows.", type: "integer" as const },
  { name: "columns", description: "Arrow blobs: comma-separated column names." },
];

function blobRoutes(segment: "blobs" | "bundles", kind: BlobKind, what: string): RouteDef[] {
  const op = segment === "blobs" ? "Blob" : "Bundle";
  return [
    {
      method: "PUT",
      path: `/projects/{project}/${segment}/{hash}`,
      operationId: `upload${op}`,
      summary: `Uploads ${what}, content-addressed: the bytes must hash to {hash}. Streamed, size-limited; node tokens may upload into their project.`,
      tag: "data",
      access: "node",
      binaryBody: true,
      responses: {
        201: { description: "Stored (or newly claimed by this project).", schema: "object" },
        200: { description: "The project already had it.", schema: "object" },
        400: { description: "The bytes do not match the hash.", schema: "Error" },
        413: { description: "Too large.", schema: "Error" },
      },
      authorize: blobAccess("write"),
      handle: (ctx) => upload(ctx, kind),
    },
    {
      method: "GET",
      path: `/projects/{project}/${segment}/{hash}`,
      operationId: `download${op}`,
      summary: `Downloads ${what}: whole, a byte range (Range header), or for Arrow IPC a row range and columns.`,
      tag: "data",
      access: "node",
      query: SLICE_QUERY,
      responses: { 200: { description: "The bytes.", schema: "binary" }, 206: { description: "A byte range.", schema: "binary" } },
      authorize: blobAccess("read"),
      handle: download,
    },
  ];
}

const locationRoute: RouteDef = {
  method: "GET",
  path: "/projects/{project}/blobs/{hash}/location",
  operationId: "getBlobLocation",
  summary: "Where a data blob can be read directly: `file`, its path on the server's host, for a file blob store (clients on that host read it without HTTP).",
  tag: "data",
  access: "node",
  responses: { 200: { description: "The blob's size, and its file when there is one.", schema: "object" } },
  authorize: blobAccess("read"),
  handle: location,
};

export const blobRouteDefs: RouteDef[] = [...blobRoutes("bundles", "bundle", "a code bundle"), ...blobRoutes("blobs", "data", "a data blob"), locationRoute];
export { SLICE_QUERY };
