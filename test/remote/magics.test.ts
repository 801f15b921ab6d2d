/**
 * The remote magics, cell by cell, through the kernel's own session (run headless
 * in this process): what they show, and a clear error for every misuse.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type * as JupyterModule from "../../kernel/jupyter/index.js";
import type { NotebookOutput } from "../../kernel/jupyter/index.js";
import type * as RemoteModule from "../../remote/index.js";
import { PROJECT, startEngineBackend, type EngineBackend } from "../engine/harness.js";

// The built copies, as a kernel runs them: cells import petrel/remote from dist/, and the magics must share
// its state (the connection, the last execution) and the session's display.
// Node's own loader (vitest's import() would load its own copies through its module runner).
const nativeRequire = createRequire(import.meta.url);
const DIST = join(import.meta.dirname, "..", "..", "dist");
const { kernelMagics, setDefaultConnection } = nativeRequire(join(DIST, "remote", "index.js")) as typeof RemoteModule;
const { runNotebook } = nativeRequire(join(DIST, "kernel", "jupyter", "index.js")) as typeof JupyterModule;

let eb: EngineBackend;
let dir: string;
const saved = { ...process.env };

beforeAll(async () => {
  eb = await startEngineBackend();
  dir = mkdtempSync(join(tmpdir(), "petrel-magics-"));
  for (const k of ["PETREL_ENDPOINT", "PETREL_TOKEN", "PETREL_PROJECT", "PETREL_DOMAIN"]) delete process.env[k];
  process.env.PETREL_CONFIG = join(dir, "no-config.json");
});

afterAll(async () => {
  process.env = saved;
  setDefaultConnection(undefined);
  await eb?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Runs cells in a fresh session and returns each cell's outputs as text (errors as `ename: evalue`). */
async function cells(...sources: string[]): Promise<string[]> {
  const file = join(dir, `nb-${Math.random().toString(36).slice(2)}.ipynb`);
  writeFileSync(file, JSON.stringify({ cells: sources.map((source) => ({ cell_type: "code", source, metadata: {}, outputs: [] })), metadata: {}, nbformat: 4, nbformat_minor: 5 }));
  const run = await runNotebook(file, { magics: kernelMagics(), allowErrors: true });
  run.close();
  const text = (o: NotebookOutput) =>
    o.output_type === "error" ? `${String(o.ename)}: ${String(o.evalue)}` : String((o.text as string | undefined) ?? (o.data as Record<string, string> | undefined)?.["text/plain"] ?? "");
  return run.notebook.cells.map((c) => (c.outputs ?? []).map(text).join("\n"));
}

const DEFINE = `import { t, task, workflow } from "petrel";
const double = task({ name: "double", inputs: { x: t.int() }, outputs: { y: t.int() } }, ({ x }) => ({ y: x * 2 }));
const twice = workflow({ name: "twice", inputs: { x: t.int() }, outputs: { y: t.int() } }, ({ x }) => double({ x: double({ x }).y }));`;

describe("remote magics", () => {
  it("connect, register, run-remote, fetch and promote, each showing what it did", async () => {
    const url = eb.backend.url!;
    const out = await cells(
      DEFINE,
      `%petrel connect ${url} --project ${PROJECT} --token ${eb.backend.adminToken}`,
      "%petrel register twice",
      "%petrel register twice",
      `%petrel run-remote twice {"x": 5}`,
      `import { lastExecution } from "petrel/remote";\nconst id = lastExecution()!.name; id`,
      "%petrel promote twice --to staging",
    );
    expect(out[1]).toMatch(new RegExp(`connected to ${url} as admin \\(project demo, domain development\\)`));
    expect(out[2]).toMatch(/registered in demo\/development as version sha256:\S+\n[\s\S]*workflow\s+twice\s+created/);
    expect(out[3]).toMatch(/\(bundle already uploaded\)[\s\S]*workflow\s+twice\s+identical/);
    expect(out[4]).toMatch(/execution \S+ of twice: SUCCEEDED/);
    expect(out[4]).toMatch(/y: 20/);
    const id = /^'(\w+)'$/.exec(out[5]!)?.[1];
    expect(id, out[5]).toBeDefined();
    const fetched = await cells(`%petrel connect ${url} --project ${PROJECT} --token ${eb.backend.adminToken}`, `%petrel fetch ${id}`);
    expect(fetched[1]).toMatch(new RegExp(`execution ${id} of twice: SUCCEEDED[\\s\\S]*double-2\\s+SUCCEEDED[\\s\\S]*y: 20`));
    expect(out[6]).toMatch(/promoted twice@sha256:\S+ from development to staging: 2 registered, 0 already there/);
    expect(out[6]).toMatch(/task\s+double\s+—\s+sha256:\S+\s+new/);
  }, 60_000);

  it("schedule registers and activates a notebook's launch plan, moves it to another cron, and shows next and past runs", async () => {
    const url = eb.backend.url!;
    const out = await cells(
      `${DEFINE}\nimport { launchPlan } from "petrel";\nconst hourly = launchPlan({ name: "hourly_twice", workflow: twice, fixed: { x: 2 }, schedule: { cron: "0 * * * *" } });`,
      `%petrel connect ${url} --project ${PROJECT} --token ${eb.backend.adminToken}`,
      "%petrel schedule hourly",
      `%petrel schedule hourly_twice --cron "30 2 * * *" --timezone Europe/Paris`,
      "%petrel schedule list",
      "%petrel schedule show hourly_twice",
      `%petrel schedule hourly_twice --cron "61 * * * *"`,
      "%petrel schedule hourly_twice --every 1m --cron '0 * * * *'",
      "%petrel schedule twice",
    );
    expect(out[2]).toMatch(/launch plan hourly_twice in demo\/development: version sha256:\S+ active\nschedule: cron 0 \* \* \* \* \(UTC\)\nnext runs: \d{4}-\d\d-\d\d \d\d:00:00Z/);
    expect(out[3]).toMatch(/version sha256:\S+-s[0-9a-f]{8} active\nschedule: cron 30 2 \* \* \* \(Europe\/Paris\)/);
    expect(out[4]).toMatch(/hourly_twice\s+sha256:\S+-s[0-9a-f]{8}\s+cron 30 2 \* \* \* \(Europe\/Paris\)/);
    expect(out[5]).toMatch(/schedule: cron 30 2/);
    expect(out[6]).toMatch(/invalid cron expression "61 \* \* \* \*": minute value 61 is out of range 0-59/);
    expect(out[7]).toMatch(/give --cron or --every, not both/);
    expect(out[8]).toMatch(/twice is not a launch plan/);
  }, 60_000);

  it("misuse gets an error that says what to do", async () => {
    setDefaultConnection(undefined);
    const url = eb.backend.url!;
    const token = eb.backend.adminToken;
    const out = await cells(
      DEFINE,
      "%petrel run-remote twice",
      "%petrel connect not-a-url",
      "%petrel connect http://127.0.0.1:9",
      `%petrel connect ${url} --token wrong`,
      `%petrel connect ${url} --project ${PROJECT} --token ${token} --colour blue`,
      `%petrel connect ${url} --project ${PROJECT} --token ${token}`,
      "%petrel register nope",
      "%petrel register double x",
      `%petrel run-remote twice {"x": "five"}`,
      `%petrel run-remote twice {"x": `,
      "%petrel fetch no-such-execution",
      "%petrel promote twice",
      "%petrel frobnicate",
    );
    expect(out[1]).toMatch(/not connected: run %petrel connect <url> first/);
    expect(out[2]).toMatch(/UsageError: %petrel connect: the endpoint "not-a-url" .* is not a URL/);
    expect(out[3]).toMatch(/cannot reach the Petrel backend at http:\/\/127\.0\.0\.1:9 \(connection refused.*is it running/);
    expect(out[4]).toMatch(/invalid, expired or revoked token.*ask an admin for a new one/);
    expect(out[5]).toMatch(/unknown option --colour/);
    expect(out[7]).toMatch(/nothing named nope is defined in this notebook/);
    expect(out[8]).toMatch(/nothing named x is defined/);
    expect(out[9]).toMatch(/input x of workflow twice.*int/);
    expect(out[10]).toMatch(/not valid JSON/);
    expect(out[11]).toMatch(/no execution no-such-execution in demo\/development/);
    expect(out[12]).toMatch(/usage: %petrel promote <workflow> --to/);
    expect(out[13]).toMatch(/unknown magic %petrel frobnicate[\s\S]*%petrel run-remote/);
  }, 60_000);
});
