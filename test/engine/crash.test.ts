// Crash safety: 100 executions running on a `petrel server` process that is
// SIGKILLed at random moments five times and restarted on the same data. Every
// execution must end SUCCEEDED with the right outputs, no node may run its user
// code more often than the attempts recorded for it, and nothing may be lost.
// Runs on SQLite and on PostgreSQL.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { TestRequestInit } from "../../backend/index.js";
import { dropSchemas, newSchema, POSTGRES_URL, postgresUnavailable } from "../backend/postgres.js";
import { fixturesBundle, int, registerBundle, tempDir } from "./harness.js";

const CLI = join(import.meta.dirname, "..", "..", "dist", "cli", "petrel.js");
const EXECUTIONS = 100;
const KILLS = 5;
const pgSkip = await postgresUnavailable();
afterAll(async () => {
  if (!pgSkip) await dropSchemas();
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
    s.once("error", reject);
  });
}

/** A `petrel server` child process that can be killed and started again on the same data. */
class ServerProcess {
  child: ChildProcess | undefined;
  token = "";
  readonly url: string;
  private log = "";

  constructor(
    readonly dataDir: string,
    readonly port: number,
    readonly db: string[],
    readonly marksDir: string,
  ) {
    this.url = `http://127.0.0.1:${port}`;
  }

  async start(): Promise<void> {
    const child = spawn(process.execPath, [CLI, "server", "--data-dir", this.dataDir, "--port", String(this.port), ...this.db], {
      // Runtimes inherit TMPDIR; the fixtures leave their marks in $TMPDIR/petrel-test-marks.
      env: { ...process.env, TMPDIR: this.marksDir },
      stdio: ["ignore", "pipe", "pipe"],
    });
    child.stdout!.on("data", (d: Buffer) => (this.log = (this.log + d.toString()).slice(-20_000)));
    child.stderr!.on("data", (d: Buffer) => (this.log = (this.log + d.toString()).slice(-20_000)));
    this.child = child;
    for (let i = 0; i < 300; i++) {
      if (child.exitCode !== null) throw new Error(`server exited (${child.exitCode}): ${this.log}`);
      try {
        const res = await fetch(`${this.url}/api/v1/health`);
        if (res.ok) break;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    this.token = readFileSync(join(this.dataDir, "admin-token"), "utf8").trim();
  }

  kill(): Promise<void> {
    const child = this.child!;
    return new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once("exit", () => resolve());
      child.kill("SIGKILL");
    });
  }

  request = async (path: string, init: TestRequestInit = {}): Promise<Response> => {
    const headers: Record<string, string> = { authorization: `Bearer ${this.token}` };
    let body = init.body;
    if (init.json !== undefined) {
      body = JSON.stringify(init.json);
      headers["content-type"] = "application/json";
    }
    return fetch(`${this.url}/api/v1${path}`, { method: init.method ?? "GET", headers, ...(body !== undefined ? { body } : {}) });
  };

  get output(): string {
    return this.log;
  }
}

async function crashRun(db: string[]): Promise<void> {
  const dataDir = tempDir("petrel-crash-");
  const marksDir = tempDir("petrel-crash-tmp-");
  mkdirSync(join(marksDir, "petrel-test-marks"));
  const server = new ServerProcess(dataDir, await freePort(), db, marksDir);
  try {
    await server.start();
    expect((await server.request("/projects", { method: "POST", json: { name: "crash" } })).status).toBe(201);
    await registerBundle(server, "crash", "development", fixturesBundle());
    const base = "/projects/crash/domains/development/executions";
    const names: string[] = [];
    for (let i = 0; i < EXECUTIONS; i++) {
      const res = await server.request(base, { method: "POST", json: { name: `c${i}`, workflow: { name: "steady_flow" }, inputs: { x: int(i), ms: int(100 + ((i * 37) % 400)) } } });
      expect(res.status, await res.clone().text()).toBe(201);
      names.push(`c${i}`);
    }
    for (let k = 0; k < KILLS; k++) {
      await new Promise((r) => setTimeout(r, 300 + Math.random() * 1_500));
      await server.kill();
      await server.start();
    }
    // Every execution ends, and ends well.
    const deadline = Date.now() + 240_000;
    let phases: Record<string, string> = {};
    for (;;) {
      const res = await server.request(`${base}?limit=1000`);
      const page = (await res.json()) as { items: { name: string; phase: string }[] };
      phases = Object.fromEntries(page.items.map((e) => [e.name, e.phase]));
      if (Object.values(phases).every((p) => p !== "QUEUED" && p !== "RUNNING")) break;
      if (Date.now() > deadline) throw new Error(`stuck: ${JSON.stringify(Object.entries(phases).filter(([, p]) => p === "QUEUED" || p === "RUNNING"))}\n${server.output}`);
      await new Promise((r) => setTimeout(r, 500));
    }
    expect(Object.values(phases).filter((p) => p !== "SUCCEEDED"), server.output.slice(-3_000)).toEqual([]);
    const marks = readFileSync(join(marksDir, "petrel-test-marks", "marks.log"), "utf8").split("\n").filter(Boolean);
    for (let i = 0; i < EXECUTIONS; i++) {
      const outputs = (await (await server.request(`${base}/c${i}/outputs`)).json()) as Record<string, unknown>;
      expect(outputs, `c${i}`).toEqual({ y: int(i * 10 + 2) });
      const nodes = (await (await server.request(`${base}/c${i}/nodes`)).json()) as { items: { nodeId: string; phase: string; attempts: number; target?: { name: string } }[] };
      expect(nodes.items.every((n) => n.phase === "SUCCEEDED")).toBe(true);
      const steady = nodes.items.find((n) => n.target?.name === "steady")!;
      const ran = marks.filter((m) => m === `steady:${i}`).length;
      expect(ran, `steady of c${i} ran ${ran} times over ${steady.attempts} attempts`).toBeLessThanOrEqual(steady.attempts);
      expect(ran).toBeGreaterThanOrEqual(1);
    }
  } finally {
    await server.kill();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(marksDir, { recursive: true, force: true });
  }
}

describe("crash safety", () => {
  it("survives five SIGKILLs with 100 executions running, on SQLite", () => crashRun([]), 400_000);
  it.skipIf(pgSkip !== undefined)(`survives five SIGKILLs with 100 executions running, on PostgreSQL${pgSkip ? ` (skipped: ${pgSkip}; set PETREL_TEST_POSTGRES_URL)` : ""}`, () =>
    crashRun(["--db", POSTGRES_URL, "--db-schema", newSchema()]), 400_000);
});
