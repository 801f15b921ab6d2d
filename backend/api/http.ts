/** Reading request bodies within limits, and small response helpers. */
import type { Context } from "hono";
import { API_ERRORS, ApiError } from "./errors.js";

/** The declared Content-Length, or undefined; 400 when it is not a number. */
export function declaredLength(c: Context): number | undefined {
  const header = c.req.header("content-length");
  if (header === undefined) return undefined;
  if (!/^[0-9]+$/.test(header)) throw new ApiError(400, API_ERRORS.INVALID_PARAMETER, `content-length: ${JSON.stringify(header)} is not a byte count`, { field: "content-length" });
  return Number(header);
}

/** 413 naming the limit. */
export function tooLarge(limit: number, what = "body"): ApiError {
  return new ApiError(413, API_ERRORS.BODY_TOO_LARGE, `${what}: larger than the limit of ${limit} bytes`, { field: what, details: { limit } });
}

/** The request body as chunks (none for an empty body). */
export async function* requestChunks(c: Context): AsyncIterable<Uint8Array> {
  const body = c.req.raw.body;
  if (!body) return;
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    reader.releaseLock();
  }
}

/**
 * Reads and parses a JSON body of at most `limit` bytes: 413 past the limit
 * (before reading, when Content-Length says so), 415 for a non-JSON content
 * type, 400 naming the position for malformed JSON. An empty body is
 * `undefined`.
 */
export async function readJson(c: Context, limit: number): Promise<unknown> {
  const length = declaredLength(c);
  if (length !== undefined && length > limit) throw tooLarge(limit);
  const type = c.req.header("content-type");
  if (type !== undefined && !/^application\/([a-z0-9.+-]*\+)?json\b/i.test(type.trim())) {
    throw new ApiError(415, API_ERRORS.UNSUPPORTED_MEDIA_TYPE, `content-type: expected application/json, got ${JSON.stringify(type)}`, { field: "content-type" });
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of requestChunks(c)) {
    size += chunk.byteLength;
    if (size > limit) throw tooLarge(limit);
    chunks.push(chunk);
  }
  if (size === 0) return undefined;
  const text = Buffer.concat(chunks, size).toString("utf8");
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new ApiError(400, API_ERRORS.MALFORMED_JSON, `body: malformed JSON (${(error as Error).message})`, { field: "body" });
  }
}

/** Epoch milliseconds as ISO-8601. */
export const iso = (ms: number): string => new Date(ms).toISOString();
/** Optional epoch milliseconds as ISO-8601. */
export const isoOpt = (ms: number | undefined): string | undefined => (ms === undefined ? undefined : iso(ms));
