/**
 * The remote client against a backend started by the test (engine, local-process
 * runner): register, execute with typed inputs, fetch every node's inputs and
 * outputs, previews that read only their rows, promote, terminate, relaunch,
 * recover, logs; and every bad input as a typed error.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { literalHash, type RunRecord } from "../../kernel/index.js";
import { Remote, REMOTE_ERRORS, RemoteDataFrame } from "../../remote/index.js";
import { rejects } from "./helpers.js";
import { fixturesBundle, PROJECT, startEngineBackend, type EngineBackend } from "../engine/harness.js";
import { training } from "../../notebooks/examples/training.js";

const TRAINING = join(import.meta.dirname, "..", "..", "notebooks", "examples", "training.ts");

let eb: EngineBackend;
let remote: Remote;
let local: RunRecord;
let cacheDir: string;


beforeAll(async () => {
  eb = await startEngineBackend();
  remote = new Remote({ endpoint: eb.backend.url!, project: PROJECT, domain: "development", token: eb.backend.adminToken });
  cacheDir = mkdtempSync(join(tmpdir(), "petrel-remote-local-"));
  local = (await training.run({ rows: 2_000 }, { cacheDir })).record;
}, 60_000);

afterAll(async () => {
  await eb?.close();
  rmSync(cacheDir, { recursive: true, force: true });
});

describe("register", () => {
  it("uploads the bundle once and registers every entity; again is a no-op", async () => {
    const first = await remote.register([training], { entry: TRAINING });
    expect(first.version).toBe(first.bundle);
    expect(first.uploaded).toBe(true);
    expect(first.entities.map((e) => `${e.id.resourceType}/${e.id.name}`).sort()).toEqual(
      ["task/clean", "task/generate", "task/pick", "task/summarize", "task/train", "workflow/training"].sort(),
    );
    expect(first.entities.every((e) => e.status === "created")).toBe(true);
    const again = await remote.register([training], { entry: TRAINING });
    expect(again.uploaded).toBe(false);
    expect(again.entities.every((e) => e.status === "identical")).toBe(true);
    const wf = await remote.fetchWorkflow("training");
    expect(wf.id.version).toBe(first.version);
    expect(wf.bundle).toBe(first.bundle);
    expect((await remote.listEntities("workflow")).map((n) => n.name)).toContain("training");
  });

  it("a version the server refuses is INVALID_REQUEST naming the field", async () => {
    await remote.register(fixturesBundle());
    await rejects(remote.register(fixturesBundle(), { version: "not a version!" }), REMOTE_ERRORS.INVALID_REQUEST, /version/);
  });
});

describe("execute and fetch", () => {
  it("runs the workflow with typed inputs; every node's outputs come back with the local run's hashes", async () => {
    const run = await remote.execute(training, { rows: 2_000 }, { wait: true, labels: { team: "growth" } });
    expect(run.phase, run.toString()).toBe("SUCCEEDED");
    expect(run.labels).toEqual({ team: "growth" });
    const fetched = await remote.fetchExecution(run.name);
    expect(Object.keys(fetched.nodes)).toEqual(expect.arrayContaining(Object.keys(local.nodes)));
    for (const [id, node] of Object.entries(local.nodes)) {
      const remoteNode = fetched.node(id);
      expect(remoteNode.phase).toBe("SUCCEEDED");
      const literals = await remoteNode.outputs.literals();
      for (const [name, literal] of Object.entries(node.outputs ?? {})) {
        expect(literalHash(literals[name]!), `${id}.${name}`).toBe(literalHash(literal));
      }
    }
    const localOut = local.outputs!;
    for (const [name, literal] of Object.entries(localOut)) {
      if (literal.kind === "blob") expect((await fetched.outputs.literals())[name]).toEqual(literal);
    }
    expect(await fetched.outputs.get("best")).toBe(await training.run({ rows: 2_000 }, { cacheDir }).then((r) => r.outputs.best));
    // The DataFrame, whole and as previews.
    const df = await fetched.node("clean").outputs.dataframe("df");
    expect(df).toBeInstanceOf(RemoteDataFrame);
    const localDf = local.nodes.clean!.outputs!.df!;
    expect(localDf.kind === "blob" && localDf.blob.hash).toBe(df.hash);
    const table = await fetched.node("clean").outputs.get("df", { as: "arrow" });
    const head = await df.head(5, { columns: ["age", "region"] });
    expect(head.numRows).toBe(5);
    expect(head.schema.fields.map((f) => f.name)).toEqual(["age", "region"]);
    const whole = table as unknown as { numRows: number; getChild(n: string): { get(i: number): unknown } };
    for (let i = 0; i < 5; i++) expect(head.getChild("age")!.get(i)).toEqual(whole.getChild("age").get(i));
    const danfo = (await fetched.node("clean").outputs.get("df")) as { shape: number[] };
    expect(danfo.shape[0]).toBe(whole.numRows);
    expect(fetched.node("generate").attempts).toMatchObject([{ attempt: 0, phase: "SUCCEEDED" }]);
    expect(fetched.node("generate").cacheStatus).toBe("POPULATED");
    // Inputs of a node, typed from its task.
    expect(await fetched.node("clean").inputs.get("minAge")).toBe(18);
    // Files come back as local paths.
    const model = (await fetched.outputs.get("model")) as string;
    expect(typeof model).toBe("string");
    // Logs of an attempt.
    expect(typeof (await fetched.node("generate").logs())).toBe("string");
    // Rendering.
    expect(fetched.toMimeBundle()["text/html"]).toContain("<svg");
    expect(fetched.toString()).toMatch(/clean\s+SUCCEEDED/);
    const page = await remote.listExecutions({ workflow: "training", labels: ["team=growth"] });
    expect(page.items.map((e) => e.name)).toContain(run.name);
  }, 60_000);

  it("relaunch and recover make new executions of the same version", async () => {
    const first = await remote.execute({ workflow: "add_flow" }, { a: 1, b: 2 }, { wait: true });
    expect(await first.outputs.get("sum")).toBe(3);
    const again = await remote.wait(await remote.relaunch(first));
    expect(again.name).not.toBe(first.name);
    expect(again.workflow).toEqual(first.workflow);
    expect(await again.outputs.get("sum")).toBe(3);
    const failed = await remote.execute({ workflow: "flaky_flow" }, { failures: 5 }, { wait: true });
    expect(failed.phase).toBe("FAILED");
    const recovered = await remote.recover(failed);
    expect(recovered.name).not.toBe(failed.name);
  }, 60_000);

  it("terminate aborts a running execution", async () => {
    const run = await remote.execute({ workflow: "sleepy_flow" }, { ms: 800 });
    const aborted = await remote.terminate(run, "changed my mind");
    expect(aborted.phase).toBe("ABORTED");
    expect(aborted.view.abort?.cause).toBe("changed my mind");
  }, 30_000);

  it("wait reports progress and gives up with TIMEOUT while the execution keeps running", async () => {
    const run = await remote.execute({ workflow: "sleepy_flow" }, { ms: 600 });
    const seen: string[] = [];
    await rejects(remote.wait(run, { timeoutMs: 50, onProgress: (e) => seen.push(e.phase) }), REMOTE_ERRORS.TIMEOUT, /still/);
    const done = await remote.wait(run, { onProgress: (e) => seen.push(e.phase) });
    expect(done.phase).toBe("SUCCEEDED");
    expect(seen.at(-1)).toBe("SUCCEEDED");
  }, 30_000);
});

describe("promote", () => {
  it("shows what changes, then registers the same version in production", async () => {
    const version = (await remote.fetchWorkflow("training")).id.version;
    const plan = await remote.planPromotion("workflow", "training", version, { to: "production" });
    expect(plan.find((c) => c.name === "training")).toMatchObject({ change: "new", current: undefined });
    const result = await remote.promote(training, version, { to: "production" });
    expect(result.promoted.map((id) => id.name)).toContain("training");
    const prod = remote.with({ domain: "production" });
    const promoted = await prod.fetchWorkflow("training");
    expect(promoted.id.version).toBe(version);
    expect(promoted.bundle).toBe((await remote.fetchWorkflow("training")).bundle);
    expect(promoted.promotedFrom?.fromDomain).toBe("development");
    const again = await remote.planPromotion("workflow", "training", version, { to: "production" });
    expect(again.every((c) => c.change === "unchanged")).toBe(true);
    const run = await prod.execute("training", { rows: 500 }, { wait: true });
    expect(run.phase).toBe("SUCCEEDED");
    expect(run.workflow.version).toBe(version);
  }, 60_000);
});

describe("bad input", () => {
  it("inputs of the wrong type or unknown names fail before anything is sent", async () => {
    const before = (await remote.listExecutions({ workflow: "training" })).items.length;
    await rejects(remote.execute(training, { rows: "many" }), REMOTE_ERRORS.INVALID_INPUTS, /input rows of workflow training.*int/);
    await rejects(remote.execute(training, { rowz: 1 }), REMOTE_ERRORS.INVALID_INPUTS, /no input "rowz".*minAge, rows, seed/);
    expect((await remote.listExecutions({ workflow: "training" })).items.length).toBe(before);
  });

  it("an unknown execution, workflow or node is NOT_FOUND with what to check", async () => {
    await rejects(remote.fetchExecution("nope-123"), REMOTE_ERRORS.NOT_FOUND, /no execution nope-123 in demo\/development/);
    await rejects(remote.fetchWorkflow("nope"), REMOTE_ERRORS.NOT_FOUND, /no workflow nope in demo\/development: register it first/);
    await rejects(remote.execute("nope"), REMOTE_ERRORS.NOT_FOUND, /no workflow nope/);
    const run = await remote.execute({ workflow: "add_flow" }, { a: 1, b: 1 }, { wait: true });
    expect(() => run.node("nope")).toThrow(/has no node "nope"/);
    expect(() => remote.executionId("a/b")).toThrow(/not an execution id/);
  }, 30_000);

  it("asking for the outputs of a node that failed says why and what to do", async () => {
    const failed = await remote.execute({ workflow: "flaky_flow" }, { failures: 5 }, { wait: true });
    expect(failed.phase).toBe("FAILED");
    await rejects(failed.node("flaky").outputs.get("attempts"), REMOTE_ERRORS.NO_OUTPUTS, /node flaky is FAILED.*no outputs: see its error and logs/);
    await rejects(failed.outputs.get("attempts"), REMOTE_ERRORS.NO_OUTPUTS, /execution .* is FAILED/);
  }, 30_000);

  it("a wrong endpoint, a bad token and a foreign token are told apart", async () => {
    const nowhere = new Remote({ endpoint: "http://127.0.0.1:9", retries: 1 });
    await rejects(nowhere.whoami(), REMOTE_ERRORS.UNREACHABLE, /cannot reach the Petrel backend at http:\/\/127\.0\.0\.1:9 \(connection refused/);
    const badToken = new Remote({ endpoint: eb.backend.url!, project: PROJECT, token: "not-a-token" });
    await rejects(badToken.whoami(), REMOTE_ERRORS.UNAUTHENTICATED, /invalid, expired or revoked/);
    const noToken = new Remote({ endpoint: eb.backend.url!, project: PROJECT });
    await rejects(noToken.listExecutions(), REMOTE_ERRORS.UNAUTHENTICATED, /PETREL_TOKEN/);
    await eb.backend.createProject("other");
    const foreign = await eb.backend.createToken([{ project: "other", role: "admin" }]);
    const outsider = new Remote({ endpoint: eb.backend.url!, project: PROJECT, token: foreign });
    await rejects(outsider.fetchWorkflow("training"), REMOTE_ERRORS.NOT_FOUND);
    const viewer = await eb.backend.createToken([{ project: PROJECT, role: "viewer" }]);
    await rejects(new Remote({ endpoint: eb.backend.url!, project: PROJECT, token: viewer }).execute({ workflow: "add_flow" }, { a: 1, b: 2 }), REMOTE_ERRORS.FORBIDDEN, /editor/);
    expect(() => new Remote({ endpoint: "not a url" })).toThrow(/not a URL/);
  }, 30_000);
});
