/**
 * Bytes through the console: blob downloads and attempt logs, streamed from the
 * API as the signed-in user. Downloads are always attachments of an opaque type
 * in a sandbox, so an uploaded HTML file can never run as a console page.
 */
import type { Literal } from "../../kernel/index.js";
import type { PageContext } from "./request.js";
import { SECURITY_HEADERS } from "./request.js";

/** A Content-Disposition for a file name: an ASCII fallback and the UTF-8 name. */
export function attachment(filename: string): string {
  const ascii = filename.replace(/[^A-Za-z0-9._-]/g, "_").slice(0, 200) || "download";
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(filename.slice(0, 200))}`;
}

const DOWNLOAD_HEADERS = { ...SECURITY_HEADERS, "content-security-policy": "sandbox; default-src 'none'", "cache-control": "private, no-store" };

function passQuery(ctx: PageContext, names: readonly string[]): string {
  const q = new URLSearchParams();
  for (const n of names) {
    const v = ctx.query.get(n);
    if (v !== null) q.set(n, v);
  }
  const s = q.toString();
  return s === "" ? "" : `?${s}`;
}

async function proxy(ctx: PageContext, apiPath: string, filename: string, range: boolean): Promise<Response> {
  const init: RequestInit = {};
  const header = ctx.c.req.header("range");
  if (range && header !== undefined) init.headers = { range: header };
  const res = await ctx.api.raw(apiPath, init);
  const headers = new Headers(DOWNLOAD_HEADERS);
  headers.set("content-type", "application/octet-stream");
  headers.set("content-disposition", attachment(filename));
  for (const h of ["content-length", "content-range", "accept-ranges", "etag"]) {
    const v = res.headers.get(h);
    if (v !== null) headers.set(h, v);
  }
  return new Response(res.body, { status: res.status, headers });
}

/** GET /projects/{p}/blobs/{hash}?filename=: a blob of the project, as a download. */
export async function blobDownload(ctx: PageContext): Promise<Response> {
  const p = ctx.param("project");
  const hash = ctx.param("hash");
  const filename = ctx.query.get("filename") || hash.replace(/^sha256:/, "").slice(0, 16);
  return proxy(ctx, `/projects/${encodeURIComponent(p)}/blobs/${encodeURIComponent(hash)}`, filename, true);
}

/** GET .../nodes/{node}/{side}/{var}/blob: a node's input or output bytes (with the API's `offset`, `limit`, `columns` for Arrow). */
export function nodeBlobDownload(side: "inputs" | "outputs") {
  return async (ctx: PageContext): Promise<Response> => {
    const [p, d, e, n, v] = ["project", "domain", "execution", "node", "var"].map((k) => encodeURIComponent(ctx.param(k)));
    const base = `/projects/${p}/domains/${d}/executions/${e}/nodes/${n}/${side}/${v}`;
    const literal = await ctx.api.get<Literal>(base);
    const name = ctx.param("var");
    const filename = literal.kind !== "blob" ? name : (literal.blob.filename ?? (literal.blob.format === "arrow" ? `${name}.arrow` : literal.blob.format === "dir" ? `${name}.dir` : name));
    return proxy(ctx, `${base}/blob${passQuery(ctx, ["offset", "limit", "columns"])}`, filename, true);
  };
}

/** GET .../nodes/{node}/attempts/{n}/logs?tail=&follow=: an attempt's logs as text, streamed while it runs with `follow=true`. */
export async function attemptLogs(ctx: PageContext): Promise<Response> {
  const [p, d, e, n, a] = ["project", "domain", "execution", "node", "attempt"].map((k) => encodeURIComponent(ctx.param(k)));
  const res = await ctx.api.raw(`/projects/${p}/domains/${d}/executions/${e}/nodes/${n}/attempts/${a}/logs${passQuery(ctx, ["tail", "follow"])}`, { signal: ctx.c.req.raw.signal });
  const headers = new Headers({ ...DOWNLOAD_HEADERS, "content-type": "text/plain; charset=utf-8", "x-accel-buffering": "no" });
  return new Response(res.body, { status: 200, headers });
}
