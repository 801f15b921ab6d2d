// The API over a real socket: `startServer` on embedded defaults and on
// PostgreSQL + S3, streamed uploads, the admin token across restarts, and the
// `server` command of the built CLI.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { startServer, type RunningServer } from "../../backend/index.js";
import { sha256 } from "../../kernel/index.js";
import { expectJson, fetchClient, registrationFlow } from "./flows.js";
import { dropSchemas, newSchema, POSTGRES_URL, postgresUnavailable } from "./postgres.js";
import { startS3, TEST_BUCKET } from "./s3.js";

const PROJECT_ROOT = fileURLToPath(new URL("../..", import.meta.url));
const CLI = join(PROJECT_ROOT, "dist", "backend", "cli.js");

let dir: string;
let server: RunningServer | undefined;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "petrel-server-"));
});
afterEach(async () => {
  await server?.close();
  server = undefined;
  rmSync(dir, { recursive: true, force: true });
});

/** A body that arrives in chunks, as a client streaming a file would send it. */
function streamOf(bytes: Uint8Array, chunk = 1 << 16): ReadableStream<Uint8Array> {
  let offset = 0;
  return new ReadableStream({
    pull(controller) {
      if (offset >= bytes.byteLength) return controller.close();
      controller.enqueue(bytes.subarray(offset, offset + chunk));
      offset += chunk;
    },
  });
}

describe("over a socket, on embedded defaults", () => {
  it("registers, gets, rejects a conflicting re-registration with a diff, promotes, lists and executes", async () => {
    server = await startServer({ dataDir: dir, port: 0 });
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    await registrationFlow(fetchClient(server.url, server.adminToken));
  });

  it("streams uploads into the blob store, rejecting wrong bytes and oversized bodies without storing them", async () => {
    server = await startServer({ dataDir: dir, port: 0, maxBlobBytes: "8Mi" });
    const client = fetchClient(server.url, server.adminToken);
    await expectJson(client("/projects", { method: "POST", json: { name: "demo" } }), 201);
    const bytes = randomBytes(6 * 1024 * 1024);
    const hash = sha256(bytes);
    await expectJson(client(`/projects/demo/blobs/${hash}`, { method: "PUT", body: streamOf(bytes) }), 201);
    const back = Buffer.from(await (await client(`/projects/demo/blobs/${hash}`)).arrayBuffer());
    expect(back.equals(bytes)).toBe(true);

    const counts = await server.store.counts();
    const forged = sha256(Buffer.concat([bytes, Buffer.from("x")]));
    const bad = await expectJson<{ error: { code: string; field: string } }>(client(`/projects/demo/blobs/${forged}`, { method: "PUT", body: streamOf(bytes) }), 400);
    expect(bad.error).toMatchObject({ code: "BLOB_INTEGRITY", field: "body" });
    const big = randomBytes(9 * 1024 * 1024);
    await expectJson(client(`/projects/demo/blobs/${sha256(big)}`, { method: "PUT", body: big }), 413);
    await expectJson(client(`/projects/demo/blobs/${sha256(big)}`, { method: "PUT", body: streamOf(big) }), 413);
    expect(await server.store.counts()).toEqual(counts);
    expect(await server.blobs.stat(forged)).toBeUndefined();
    expect(await server.blobs.stat(sha256(big))).toBeUndefined();
  });

  it("keeps the admin token and the data across restarts", async () => {
    server = await startServer({ dataDir: dir, port: 0 });
    const first = server.adminToken;
    expect(readFileSync(join(dir, "admin-token"), "utf8").trim()).toBe(first);
    expect(statSync(join(dir, "admin-token")).mode & 0o777).toBe(0o600);
    await expectJson(fetchClient(server.url, first)("/projects", { method: "POST", json: { name: "kept" } }), 201);
    await server.close();
    server = await startServer({ dataDir: dir, port: 0 });
    expect(server.adminToken).toBe(first);
    await expectJson(fetchClient(server.url, first)("/projects/kept"), 200);
  });
});

const pgUnavailable = await postgresUnavailable();
afterAll(dropSchemas);

describe.skipIf(pgUnavailable !== undefined)(`over a socket, on PostgreSQL and S3 (s3rver)${pgUnavailable ? ` — skipped: ${pgUnavailable}` : ""}`, () => {
  it("runs the same flow with --db postgres://... and --blobs s3://bucket/prefix", async () => {
    const s3 = await startS3();
    const saved = { ...process.env };
    Object.assign(process.env, { AWS_ENDPOINT_URL: s3.endpoint, AWS_ACCESS_KEY_ID: "S3RVER", AWS_SECRET_ACCESS_KEY: "S3RVER", AWS_REGION: "us-east-1" });
    try {
      server = await startServer({ dataDir: dir, port: 0, db: POSTGRES_URL, dbSchema: newSchema(), blobs: `s3://${TEST_BUCKET}/socket-flow` });
      expect(server.store.kind).toBe("postgres");
      expect(server.blobs.kind).toBe("s3");
      await registrationFlow(fetchClient(server.url, server.adminToken));
      expect((await s3.keys("socket-flow/")).length).toBeGreaterThan(0);
    } finally {
      process.env = saved;
      await server?.close();
      server = undefined;
      await s3.close();
    }
  });
});

describe("the server command", () => {
  it("starts on embedded defaults, prints the URL and the admin token, and stops on SIGTERM", async () => {
    expect(existsSync(CLI), `${CLI} is missing: run npm run build first`).toBe(true);
    const child = spawn(process.execPath, [CLI, "server", "--data-dir", dir, "--port", "0"], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no URL printed; stdout: ${out} stderr: ${err}`)), 15_000);
        child.stdout.on("data", (d: Buffer) => {
          out += d.toString();
          if (out.includes("admin token:")) {
            clearTimeout(timer);
            resolve();
          }
        });
        child.on("exit", (code) => reject(new Error(`exited ${code}: ${err}`)));
      });
      const url = /listening on (http:\/\/\S+)/.exec(out)![1]!;
      const token = /admin token: (\S+)/.exec(out)![1]!;
      expect(token).toBe(readFileSync(join(dir, "admin-token"), "utf8").trim());
      expect(out).toContain(`sqlite ${join(dir, "petrel.sqlite")}`);
      await expectJson(fetch(`${url}/api/v1/health`), 200);
      await expectJson(fetchClient(url, token)("/projects"), 200);
      await expectJson(fetch(`${url}/api/v1/projects`), 401);
    } finally {
      child.kill("SIGTERM");
    }
    expect(await exited).toBe(0);
  });

  it("refuses --insecure-local on a non-loopback host, naming the option", async () => {
    const child = spawn(process.execPath, [CLI, "server", "--data-dir", dir, "--host", "0.0.0.0", "--insecure-local"], { stdio: ["ignore", "pipe", "pipe"] });
    let err = "";
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
    expect(code).toBe(1);
    expect(err).toContain("insecureLocal (flag): turns authentication off, so it is only allowed on a loopback host");
  });
});
