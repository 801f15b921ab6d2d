/**
 * The `petrel` command line's remote commands, end to end: the built CLI
 * (dist/cli/petrel.js) runs as a child process against a backend with a real
 * engine started by this test. Every command is run with --json and its document
 * parsed back; the exit codes scripts rely on are checked one by one.
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { tableFromIPC } from "apache-arrow";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fixturesBundle, PROJECT, startEngineBackend, tempDir, type EngineBackend } from "../engine/harness.js";

const ROOT = join(import.meta.dirname, "..", "..");
/** Per test: a few CLI processes (~0.5 s of CPU each) and at most one short workflow run, with room for a busy machine. */
const TIMEOUT = 90_000;
const CLI = join(ROOT, "dist", "cli", "petrel.js");

/** What a CLI process did. */
interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

let eb: EngineBackend;
let dir: string;
/** The environment every CLI process gets: the backend, the admin token, project demo, a config file of its own. */
let env: Record<string, string>;

/**
 * Runs `petrel <args>` (asynchronously: the backend lives in this process and must
 * keep serving). `extra` adds to or (with undefined) removes from the environment.
 */
function petrel(args: string[], extra: Record<string, string | undefined> = {}): Promise<Result> {
  const childEnv: Record<string, string> = { ...env };
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete childEnv[k];
    else childEnv[k] = v;
  }
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, env: childEnv, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/** Runs `petrel <args> --json`, expects exit code `code` (default 0) and returns the parsed document. */
async function json<T = Record<string, unknown>>(args: string[], code = 0, extra: Record<string, string | undefined> = {}): Promise<T> {
  const r = await petrel([...args, "--json"], extra);
  expect(r.code, `petrel ${args.join(" ")}\n${r.stderr}`).toBe(code);
  return JSON.parse(r.stdout) as T;
}

/** Expects a failure with exit `code`: nothing on stdout, one `petrel: …` message on stderr, no stack trace. */
function failed(r: Result, code: number, message: RegExp): void {
  expect(r.code, r.stderr).toBe(code);
  expect(r.stdout).toBe("");
  expect(r.stderr).toMatch(/^petrel: /);
  expect(r.stderr).toMatch(message);
  expect(r.stderr).not.toMatch(/^\s+at /m);
}

interface Execution {
  name: string;
  phase: string;
  workflow: { name: string; version: string };
  labels: Record<string, string>;
  inputs?: Record<string, unknown>;
  outputs?: Record<string, unknown>;
  nodes: { id: string; phase: string; attempts: { attempt: number; phase: string }[] }[];
  abort?: { cause: string };
}
interface Registration {
  bundle: string;
  version: string;
  uploaded: boolean;
  entities: { id: { resourceType: string; name: string; domain: string; version: string }; status: string }[];
}
type Blob = { blob: { hash: string; size: number; format: string } };

/** Polls `check` until it holds (at most `ms`). */
async function until(check: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`still not true after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const entityKeys = (r: Registration) => r.entities.map((e) => `${e.id.resourceType}/${e.id.name}`).sort();

/** Shared between the tests, which run in order. */
let trainingVersion: string;
let trainingRun: Execution;

beforeAll(async () => {
  expect(existsSync(CLI), "the CLI is not built: run `npm run build` first").toBe(true);
  eb = await startEngineBackend();
  dir = tempDir("petrel-cli-");
  const inherited = Object.fromEntries(Object.entries(process.env).filter((kv): kv is [string, string] => kv[1] !== undefined && !kv[0].startsWith("PETREL_")));
  env = {
    ...inherited,
    PETREL_ENDPOINT: eb.backend.url!,
    PETREL_TOKEN: eb.backend.adminToken,
    PETREL_PROJECT: PROJECT,
    // Never the user's ~/.petrel: the config file and local caches live in the test's directory.
    PETREL_CONFIG: join(dir, "config.json"),
    PETREL_HOME: join(dir, "home"),
  };
}, TIMEOUT);

afterAll(async () => {
  await eb?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("petrel register", () => {
  it("bundles what a .ts file exports and registers it; again, everything is identical", async () => {
    const first = await json<Registration>(["register", "notebooks/examples/training.ts"]);
    expect(first.version).toBe(first.bundle);
    expect(entityKeys(first)).toEqual(["task/clean", "task/generate", "task/pick", "task/summarize", "task/train", "workflow/training"]);
    expect(first.entities.every((e) => e.status === "created" && e.id.domain === "development")).toBe(true);
    trainingVersion = first.version;
    const [again, unknown] = await Promise.all([
      petrel(["register", "notebooks/examples/training.ts"]),
      petrel(["register", "notebooks/examples/training.ts", "--entities", "training,nope"]),
    ]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain(`version  ${first.version}`);
    expect(again.stdout).toMatch(/workflow\s+training\s+identical/);
    failed(unknown, 2, /--entities: notebooks\/examples\/training.ts defines nothing named nope \(it defines clean, generate, pick, summarize, train, training\)/);
  }, TIMEOUT);

  it("loads TypeScript with its own line numbers: every task's source is the one an in-process build records", async () => {
    const r = await json<Registration>(["register", "test/engine/fixtures/pipelines.ts"]);
    expect(entityKeys(r)).toEqual(expect.arrayContaining(["workflow/flaky_flow", "workflow/sleepy_flow", "launch_plan/add_plan", "task/add"]));
    const local = fixturesBundle().manifest.specs.tasks;
    const tasks = r.entities.filter((e) => e.id.resourceType === "task");
    expect(tasks.length).toBe(local.length);
    for (const { id } of tasks) {
      const res = await eb.backend.request(`/projects/${PROJECT}/domains/development/tasks/${id.name}/versions/${encodeURIComponent(id.version)}`);
      const { spec } = (await res.json()) as { spec: { source?: string } };
      expect(spec.source, id.name).toBe(local.find((t) => t.name === id.name)?.source);
      expect(spec.source).toMatch(/^pipelines\.ts:\d+$/);
    }
  }, TIMEOUT);

  it("registers what a notebook defines (a workflow with the tasks it uses), built from its cells", async () => {
    const r = await json<Registration>(["register", "notebooks/fanout.ipynb", "--entities", "fanout", "--domain", "staging"]);
    expect(entityKeys(r)).toEqual(["task/report", "task/score", "task/total", "workflow/fanout"]);
    expect(r.entities.every((e) => e.id.domain === "staging")).toBe(true);
  }, TIMEOUT);
});

describe("petrel run, get, outputs, logs", () => {
  it("runs a workflow with typed inputs and waits: progress on stderr, the execution and its outputs as JSON", async () => {
    const r = await petrel(["run", "training", "--input", "rows=500", "--label", "team=growth", "--wait", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    trainingRun = JSON.parse(r.stdout) as Execution;
    expect(trainingRun.phase).toBe("SUCCEEDED");
    expect(trainingRun.workflow).toMatchObject({ name: "training", version: trainingVersion });
    expect(trainingRun.labels).toEqual({ team: "growth" });
    expect(trainingRun.inputs).toMatchObject({ rows: 500 });
    expect(trainingRun.outputs?.best).toMatch(/^(age|income)$/);
    expect(Object.keys(trainingRun.outputs?.churnByRegion as object).sort()).toEqual(["east", "north", "south", "west"]);
    expect((trainingRun.outputs?.model as Blob).blob.format).toBe("file");
    // Not a terminal: one plain line per change, the last one the end.
    expect(r.stderr.trim().split("\n").at(-1)).toMatch(new RegExp(`^execution ${trainingRun.name}: SUCCEEDED, (\\d+)/\\1 nodes done$`));
  }, TIMEOUT);

  it("get execution shows the nodes; outputs prints values and saves a DataFrame as Arrow with the literal's hash", async () => {
    const [execution, text, outputs, clean] = await Promise.all([
      json<Execution>(["get", "execution", trainingRun.name]),
      petrel(["get", "execution", `${PROJECT}/development/${trainingRun.name}`]),
      json(["outputs", trainingRun.name]),
      json<{ df: Blob }>(["outputs", trainingRun.name, "--node", "clean"]),
    ]);
    expect(execution.phase).toBe("SUCCEEDED");
    expect(execution.nodes.map((n) => n.id)).toEqual(expect.arrayContaining(["generate", "clean", "summarize", "pick"]));
    expect(execution.nodes.find((n) => n.id === "clean")).toMatchObject({ phase: "SUCCEEDED", attempts: [{ attempt: 0, phase: "SUCCEEDED" }] });
    expect(text.stdout).toMatch(/clean\s+SUCCEEDED/);
    expect(outputs).toEqual(trainingRun.outputs);
    expect(clean.df.blob.format).toBe("arrow");
    const file = join(dir, "clean.arrow");
    const saved = await json<{ file: string; name: string; hash: string }>(["outputs", trainingRun.name, "--node", "clean", "--name", "df", "--out", file]);
    expect(saved).toMatchObject({ file, name: "df", hash: clean.df.blob.hash });
    const bytes = readFileSync(file);
    expect(`sha256:${createHash("sha256").update(bytes).digest("hex")}`).toBe(clean.df.blob.hash);
    const table = tableFromIPC(bytes);
    expect(table.numRows).toBeGreaterThan(0);
    expect(table.schema.fields.map((f) => f.name)).toEqual(["age", "income", "region", "churned"]);
    const [people, nope] = await Promise.all([petrel(["outputs", trainingRun.name, "--node", "clean"]), petrel(["outputs", trainingRun.name, "--name", "nope"])]);
    expect(people.stdout).toMatch(/df\s+dataframe/);
    expect(people.stdout).toMatch(/age\s+income\s+region\s+churned/);
    failed(nope, 3, /no "nope" \(names: best, churnByRegion, model\)/);
  }, TIMEOUT);

  it("lists executions, workflows, tasks and launch plans", async () => {
    type Named = { name: string; latestVersion: string }[];
    const [executions, aborted, workflows, tasks, plans, table] = await Promise.all([
      json<Execution[]>(["get", "executions", "--workflow", "training", "--phase", "SUCCEEDED", "--limit", "5"]),
      json<unknown[]>(["get", "executions", "--phase", "ABORTED,TIMED_OUT"]),
      json<Named>(["get", "workflows"]),
      json<Named>(["get", "tasks"]),
      json<Named>(["get", "launchplans"]),
      petrel(["get", "executions"]),
    ]);
    expect(executions.map((e) => e.name)).toEqual([trainingRun.name]);
    expect(aborted).toEqual([]);
    expect(workflows.find((w) => w.name === "training")?.latestVersion).toBe(trainingVersion);
    expect(tasks.map((t) => t.name)).toEqual(expect.arrayContaining(["clean", "generate", "flaky", "sleepy"]));
    expect(plans.map((p) => p.name)).toContain("add_plan");
    expect(table.stdout).toMatch(/^name\s+workflow\s+version\s+phase\s+created\s+time$/m);
    expect(table.stdout).toMatch(new RegExp(`^${trainingRun.name}\\s+training\\s+sha256:\\S+\\s+SUCCEEDED`, "m"));
  }, TIMEOUT);

  it("relaunch runs the same version again (its nodes come from the cache)", async () => {
    const again = await json<Execution>(["relaunch", trainingRun.name, "--wait"]);
    expect(again.name).not.toBe(trainingRun.name);
    expect(again.phase).toBe("SUCCEEDED");
    expect(again.workflow.version).toBe(trainingVersion);
    expect(again.outputs).toEqual(trainingRun.outputs);
  }, TIMEOUT);

  it("a failed execution exits 1 with --wait; its logs say why; recover starts a new execution", async () => {
    const failedRun = await json<Execution>(["run", "flaky_flow", "--input", "failures=5", "--wait"], 1);
    expect(failedRun.phase).toBe("FAILED");
    expect(failedRun.outputs).toBeUndefined();
    const [logs, last, outputs, noNode, recovered] = await Promise.all([
      json<{ node: string; attempt: number; logs: string }>(["logs", failedRun.name, "flaky", "--attempt", "0"]),
      petrel(["logs", failedRun.name, "flaky"]),
      petrel(["outputs", failedRun.name]),
      petrel(["logs", failedRun.name, "nope"]),
      json<Execution>(["recover", failedRun.name]),
    ]);
    expect(logs).toMatchObject({ node: "flaky", attempt: 0 });
    expect(logs.logs).toContain("flaky failure on attempt 1");
    expect(last.stdout).toContain("flaky failure on attempt 3");
    failed(outputs, 3, /is FAILED.*no outputs/);
    failed(noNode, 3, /has no node "nope" \(nodes: flaky\)/);
    expect(recovered.name).not.toBe(failedRun.name);
    expect(recovered.workflow.name).toBe("flaky_flow");
  }, TIMEOUT);

  it("terminate aborts a long run; logs --follow streams its node's attempt until it ends", async () => {
    const started = await json<Execution>(["run", "steady_flow", "--input", "x=1", "--input", "ms=20000"]);
    expect(["QUEUED", "RUNNING"]).toContain(started.phase);
    // Started before the node is: it waits for the node's first attempt.
    const following = petrel(["logs", started.name, "steady", "--follow", "--json"]);
    await until(async () => (await eb.nodes(started.name)).steady?.phase === "RUNNING");
    const aborted = await json<Execution>(["terminate", started.name, "--cause", "changed my mind"]);
    expect(aborted.phase).toBe("ABORTED");
    expect(aborted.abort?.cause).toBe("changed my mind");
    const followed = await following;
    expect(followed.code, followed.stderr).toBe(0);
    expect(JSON.parse(followed.stdout)).toMatchObject({ execution: started.name, node: "steady", attempt: 0, logs: expect.any(String) });
  }, TIMEOUT);
});

describe("petrel promote", () => {
  it("shows the plan, refuses to go on without --yes when nothing can ask, and promotes the same version", async () => {
    const unconfirmed = await petrel(["promote", "training", trainingVersion, "--to", "production"]);
    expect(unconfirmed.code).toBe(2);
    expect(unconfirmed.stdout).toMatch(/^workflow\s+training\s+sha256:\S+\s+—\s+new$/m);
    expect(unconfirmed.stderr).toMatch(/^petrel: promote: pass --yes/);
    const promoted = await json<{ plan: { name: string; change: string }[]; promoted: { name: string }[] }>(["promote", "training", trainingVersion, "--to", "production", "--yes"]);
    expect(promoted.plan.find((c) => c.name === "training")?.change).toBe("new");
    expect(promoted.promoted.map((id) => id.name)).toEqual(expect.arrayContaining(["training", "clean"]));
    const prod = await json<{ name: string; latestVersion: string }[]>(["get", "workflows", "--domain", "production"]);
    expect(prod).toEqual([expect.objectContaining({ name: "training", latestVersion: trainingVersion })]);
    const again = await json<{ plan: { change: string }[] }>(["promote", "training", trainingVersion, "--to", "production", "--dry-run"]);
    expect(again.plan.every((c) => c.change === "unchanged")).toBe(true);
  }, TIMEOUT);
});

describe("petrel connect", () => {
  it("writes the config file that later commands use, with no endpoint in the environment", async () => {
    const config = join(dir, "connected", "config.json");
    const noEnv = { PETREL_ENDPOINT: undefined, PETREL_TOKEN: undefined, PETREL_PROJECT: undefined, PETREL_CONFIG: config };
    failed(await petrel(["get", "workflows"], noEnv), 2, /no Petrel endpoint/);
    const connected = await json<{ file: string; endpoint: string; project: string; user: string }>(
      ["connect", eb.backend.url!, "--project", PROJECT, "--token", eb.backend.adminToken],
      0,
      noEnv,
    );
    expect(connected).toMatchObject({ file: config, endpoint: eb.backend.url, project: PROJECT, domain: "development" });
    expect(JSON.parse(readFileSync(config, "utf8"))).toEqual({ endpoint: eb.backend.url, project: PROJECT, token: eb.backend.adminToken });
    expect(statSync(config).mode & 0o777).toBe(0o600);
    const workflows = await json<{ name: string }[]>(["get", "workflows"], 0, noEnv);
    expect(workflows.map((w) => w.name)).toContain("training");
  }, TIMEOUT);
});

describe("exit codes", () => {
  it("2 for usage errors and bad inputs, 3 not found, 4 auth, 5 unreachable", async () => {
    const viewer = await eb.backend.createToken([{ project: PROJECT, role: "viewer" }]);
    const [notJson, wrongType, unknownInput, unknownOption, notFound, noWorkflow, badToken, forbidden, unreachable] = await Promise.all([
      petrel(["run", "training", "--input", "rows=many"]),
      petrel(["run", "training", "--input", "rows=1.5"]),
      petrel(["run", "training", "--input", "rowz=1"]),
      petrel(["get", "executions", "--bogus"]),
      petrel(["get", "execution", "nope-123"]),
      petrel(["run", "nope"]),
      petrel(["get", "workflows", "--token", "not-a-token"]),
      petrel(["run", "add_flow", "--input", "a=1", "--input", "b=2", "--token", viewer]),
      petrel(["get", "workflows", "--endpoint", "http://127.0.0.1:9"]),
    ]);
    failed(notJson, 2, /--input rows=many: expected int/);
    failed(wrongType, 2, /input rows of workflow training: expected int/);
    failed(unknownInput, 2, /workflow training has no input "rowz" \(inputs: minAge: int = default, rows: int = default, seed: int = default\)/);
    failed(unknownOption, 2, /unknown option '--bogus'/);
    failed(notFound, 3, /no execution nope-123 in demo\/development/);
    failed(noWorkflow, 3, /no workflow nope in demo\/development/);
    failed(badToken, 4, /invalid, expired or revoked/);
    failed(forbidden, 4, /editor/);
    failed(unreachable, 5, /cannot reach the Petrel backend at http:\/\/127\.0\.0\.1:9/);
  }, TIMEOUT);
});
