// The HTTP API in-process (app.request): registration, compilation, promotion,
// executions, nodes, the data API, tokens and roles.
import { Float64, Int32, RecordBatch, Table, Utf8, tableFromIPC, tableToIPC, vectorFromArray } from "apache-arrow";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { API_ROUTES, createTestBackend, type TestBackend } from "../../backend/index.js";
import { sha256, t, task, workflow, type Literal, type WorkflowSpec } from "../../kernel/index.js";
import { addTask, cyclicWorkflow, illTypedWorkflow, int, nightlyPlan, pipelineWorkflow, summarizeTask } from "./fixtures.js";
import { expectJson, registrationFlow, type Client } from "./flows.js";

let backend: TestBackend;
beforeEach(async () => {
  backend = await createTestBackend({ clock: "2025-03-01T12:00:00Z" });
});
afterEach(async () => backend.close());

const dev = "/projects/demo/domains/development";
const inProcess = (): Client => (path, init = {}) => backend.request(path, init.token === undefined ? { ...init, token: backend.adminToken } : init);

/** demo project with add@v1, pipeline@v1 and nightly@v1 registered. */
async function registerBasics(): Promise<void> {
  await backend.createProject("demo");
  await expectJson(backend.request(`${dev}/tasks/add/versions/v1`, { method: "PUT", json: { spec: addTask() } }), 201);
  await expectJson(backend.request(`${dev}/workflows/pipeline/versions/v1`, { method: "PUT", json: { spec: pipelineWorkflow() } }), 201);
  await expectJson(backend.request(`${dev}/launch-plans/nightly/versions/v1`, { method: "PUT", json: { spec: nightlyPlan() } }), 201);
}

describe("registration, promotion and executions in-process", () => {
  it("registers, gets, rejects a conflicting re-registration with a diff, promotes, lists and executes", async () => {
    await registrationFlow(inProcess());
  });

  it("registers specs made by the kernel's DSL", async () => {
    await backend.createProject("demo");
    const double = task({ name: "double", inputs: { x: t.int() }, outputs: { y: t.int() }, cache: { version: "1" } }, ({ x }) => ({ y: x * 2 }));
    const twice = workflow({ name: "twice", inputs: { x: t.int().default(3) }, outputs: { y: t.int() } }, ({ x }) => ({ y: double({ x: double({ x }).y }).y }));
    await expectJson(backend.request(`${dev}/tasks/double/versions/1`, { method: "PUT", json: { spec: double.spec } }), 201);
    await expectJson(backend.request(`${dev}/workflows/twice/versions/1`, { method: "PUT", json: { spec: twice.spec } }), 201);
    const e = await expectJson<{ inputs: unknown }>(backend.request(`${dev}/executions`, { method: "POST", json: { workflow: { name: "twice" } } }), 201);
    expect(e.inputs).toEqual({ x: int(3) });
  });
});

describe("server-side compilation", () => {
  beforeEach(registerBasics);

  it("rejects a cyclic workflow naming the cycle", async () => {
    const res = await expectJson<{ error: { code: string; message: string; field: string } }>(
      backend.request(`${dev}/workflows/cyclic/versions/v1`, { method: "PUT", json: { spec: cyclicWorkflow() } }),
      400,
    );
    expect(res.error.code).toBe("WORKFLOW_COMPILE");
    expect(res.error.message).toMatch(/cycle: (one -> two -> one|two -> one -> two)/);
  });

  it("rejects an ill-typed binding naming the node, the input and both types", async () => {
    const res = await expectJson<{ error: { code: string; message: string; field: string } }>(
      backend.request(`${dev}/workflows/illtyped/versions/v1`, { method: "PUT", json: { spec: illTypedWorkflow() } }),
      400,
    );
    expect(res.error).toMatchObject({ code: "WORKFLOW_COMPILE", field: "spec.nodes[0].inputs.a" });
    expect(res.error.message).toContain("expected int, got string");
  });

  it("rejects a workflow whose task is not registered, naming the node's target", async () => {
    const spec = pipelineWorkflow({ name: "orphan" });
    spec.nodes[0] = { ...spec.nodes[0]!, target: { resourceType: "task", name: "missing" } } as WorkflowSpec["nodes"][0];
    const res = await expectJson<{ error: { code: string; field: string; message: string } }>(
      backend.request(`${dev}/workflows/orphan/versions/v1`, { method: "PUT", json: { spec } }),
      400,
    );
    expect(res.error).toMatchObject({ code: "UNKNOWN_REFERENCE", field: "spec.nodes[0].target" });
    expect(res.error.message).toContain("task missing is not registered in demo/development");
  });

  it("rejects a node that declares outputs its task does not produce", async () => {
    const spec = pipelineWorkflow({ name: "liar" });
    spec.nodes[0]!.outputs = { sum: { kind: "string" } };
    spec.outputs = {};
    spec.interface.outputs = {};
    const res = await expectJson<{ error: { field: string } }>(backend.request(`${dev}/workflows/liar/versions/v1`, { method: "PUT", json: { spec } }), 400);
    expect(res.error.field).toBe("spec.nodes[0].outputs.sum");
  });

  it("pins unversioned references at registration, so later versions do not change the workflow", async () => {
    await expectJson(backend.request(`${dev}/tasks/add/versions/v2`, { method: "PUT", json: { spec: addTask({ retries: 2 }) } }), 201);
    const v1 = await expectJson<{ references: { version: string }[] }>(backend.request(`${dev}/workflows/pipeline/versions/v1`), 200);
    expect(v1.references.map((r) => r.version)).toEqual(["v1"]);
    const v2 = await expectJson<{ references: { version: string }[] }>(backend.request(`${dev}/workflows/pipeline/versions/v2`, { method: "PUT", json: { spec: pipelineWorkflow() } }), 201);
    expect(v2.references.map((r) => r.version)).toEqual(["v2"]);
  });

  it("rejects a launch plan naming a missing workflow, an unknown input or an invalid cron", async () => {
    const missing = await expectJson<{ error: { field: string; code: string } }>(
      backend.request(`${dev}/launch-plans/lp/versions/v1`, { method: "PUT", json: { spec: nightlyPlan({ name: "lp", workflow: { resourceType: "workflow", name: "nope" } }) } }),
      400,
    );
    expect(missing.error).toMatchObject({ field: "spec.workflow", code: "UNKNOWN_REFERENCE" });
    const unknownInput = await expectJson<{ error: { field: string } }>(
      backend.request(`${dev}/launch-plans/lp/versions/v1`, { method: "PUT", json: { spec: nightlyPlan({ name: "lp", defaultInputs: { zzz: int(1) } }) } }),
      400,
    );
    expect(unknownInput.error.field).toBe("spec.defaultInputs.zzz");
    const wrongType = await expectJson<{ error: { field: string; message: string } }>(
      backend.request(`${dev}/launch-plans/lp/versions/v1`, { method: "PUT", json: { spec: nightlyPlan({ name: "lp", fixedInputs: { x: { kind: "string", value: "1" } } }) } }),
      400,
    );
    expect(wrongType.error).toMatchObject({ field: "spec.fixedInputs.x" });
    expect(wrongType.error.message).toContain("expected int, got a string literal");
    const cron = await expectJson<{ error: { field: string; code: string; message: string } }>(
      backend.request(`${dev}/launch-plans/lp/versions/v1`, { method: "PUT", json: { spec: nightlyPlan({ name: "lp", schedule: { kind: "cron", expression: "61 * * * *" } }) } }),
      400,
    );
    expect(cron.error).toMatchObject({ field: "spec.schedule.expression", code: "INVALID_SCHEDULE" });
    expect(cron.error.message).toContain("minute");
    const zone = await expectJson<{ error: { field: string } }>(
      backend.request(`${dev}/launch-plans/lp/versions/v1`, { method: "PUT", json: { spec: nightlyPlan({ name: "lp", schedule: { kind: "cron", expression: "@daily", timezone: "Mars/Olympus" } }) } }),
      400,
    );
    expect(zone.error.field).toBe("spec.schedule.timezone");
    const unfed = await expectJson<{ error: { field: string; message: string } }>(
      backend.request(`${dev}/launch-plans/lp/versions/v1`, { method: "PUT", json: { spec: nightlyPlan({ name: "lp", fixedInputs: {} }) } }),
      400,
    );
    expect(unfed.error.field).toBe("spec.schedule");
    expect(unfed.error.message).toContain("x (int) has none");
  });

  it("keeps at most one active version of a launch plan", async () => {
    await expectJson(backend.request(`${dev}/launch-plans/nightly/versions/v2`, { method: "PUT", json: { spec: nightlyPlan({ defaultInputs: { y: int(6) } }) } }), 201);
    await expectJson(backend.request(`${dev}/launch-plans/nightly/versions/v1/activate`, { method: "POST" }), 200);
    expect(await expectJson(backend.request(`${dev}/launch-plans/nightly/versions/v2/activate`, { method: "POST" }), 200)).toMatchObject({ previousActiveVersion: "v1", active: true });
    expect(await expectJson(backend.request(`${dev}/launch-plans/nightly/versions/v1`), 200)).toMatchObject({ active: false });
    expect(await expectJson(backend.request(`${dev}/launch-plans/nightly/active`), 200)).toMatchObject({ id: { version: "v2" } });
    // Executions by name use the active version, not the latest.
    await expectJson(backend.request(`${dev}/launch-plans/nightly/versions/v3`, { method: "PUT", json: { spec: nightlyPlan({ defaultInputs: { y: int(7) } }) } }), 201);
    const e = await expectJson<{ inputs: { y: Literal } }>(backend.request(`${dev}/executions`, { method: "POST", json: { launchPlan: { name: "nightly" } } }), 201);
    expect(e.inputs.y).toEqual(int(6));
    await expectJson(backend.request(`${dev}/launch-plans/nightly/versions/v2/deactivate`, { method: "POST" }), 200);
    await expectJson(backend.request(`${dev}/launch-plans/nightly/active`), 404);
  });
});

describe("executions", () => {
  beforeEach(registerBasics);

  it("terminates with a cause, then refuses to terminate again", async () => {
    await expectJson(backend.request(`${dev}/executions`, { method: "POST", json: { name: "e1", launchPlan: { name: "nightly" } } }), 201);
    backend.clock.advance(5_000);
    const aborted = await expectJson<{ phase: string; abort: unknown; endedAt: string }>(
      backend.request(`${dev}/executions/e1/terminate`, { method: "POST", json: { cause: "wrong inputs" } }),
      200,
    );
    expect(aborted).toMatchObject({ phase: "ABORTED", abort: { cause: "wrong inputs", by: "admin", at: "2025-03-01T12:00:05.000Z" }, endedAt: "2025-03-01T12:00:05.000Z" });
    const again = await expectJson<{ error: { code: string } }>(backend.request(`${dev}/executions/e1/terminate`, { method: "POST", json: { cause: "again" } }), 409);
    expect(again.error.code).toBe("INVALID_STATE");
  });

  it("relaunches with the same inputs and recovers only failed or aborted executions", async () => {
    await expectJson(backend.request(`${dev}/executions`, { method: "POST", json: { name: "e1", launchPlan: { name: "nightly" }, inputs: { y: int(9) } } }), 201);
    const relaunched = await expectJson<{ mode: string; source: string; inputs: unknown }>(backend.request(`${dev}/executions/e1/relaunch`, { method: "POST", json: { name: "e2" } }), 201);
    expect(relaunched).toMatchObject({ mode: "relaunch", source: "e1", inputs: { x: int(10), y: int(9) } });
    await expectJson(backend.request(`${dev}/executions/e1/recover`, { method: "POST" }), 409);
    await expectJson(backend.request(`${dev}/executions/e1/terminate`, { method: "POST", json: { cause: "stop" } }), 200);
    const recovered = await expectJson<{ mode: string; source: string; name: string }>(backend.request(`${dev}/executions/e1/recover`, { method: "POST" }), 201);
    expect(recovered).toMatchObject({ mode: "recover", source: "e1" });
    const taken = await expectJson<{ error: { field: string } }>(backend.request(`${dev}/executions/e1/relaunch`, { method: "POST", json: { name: "e2" } }), 409);
    expect(taken.error.field).toBe("name");
  });

  it("stores large inputs as a blob and serves them through the data API", async () => {
    await backend.close();
    backend = await createTestBackend({ inlineLiteralBytes: 256 });
    await registerBasics();
    const note: Literal = { kind: "string", value: "n".repeat(1_000) };
    const e = await expectJson<{ inputs?: unknown; inputsRef: { hash: string; size: number } }>(
      backend.request(`${dev}/executions`, { method: "POST", json: { name: "big", workflow: { name: "pipeline" }, inputs: { x: int(1), note: { kind: "string", value: note.value } } } }),
      201,
    );
    expect(e.inputs).toBeUndefined();
    expect(e.inputsRef.hash).toMatch(/^sha256:/);
    expect(await expectJson(backend.request(`${dev}/executions/big/inputs`), 200)).toEqual({ x: int(1), y: int(2), note });
  });

  it("lists with filters on phase, workflow, launch plan, label and creation time", async () => {
    await expectJson(backend.request(`${dev}/executions`, { method: "POST", json: { name: "a", launchPlan: { name: "nightly" }, labels: { tier: "gold" } } }), 201);
    backend.clock.advance(60_000);
    await expectJson(backend.request(`${dev}/executions`, { method: "POST", json: { name: "b", workflow: { name: "pipeline" }, inputs: { x: int(1) } } }), 201);
    await expectJson(backend.request(`${dev}/executions/b/terminate`, { method: "POST", json: { cause: "x" } }), 200);
    const names = async (query: string) => (await expectJson<{ items: { name: string }[] }>(backend.request(`${dev}/executions?${query}`), 200)).items.map((e) => e.name);
    expect(await names("")).toEqual(["b", "a"]);
    expect(await names("phase=ABORTED")).toEqual(["b"]);
    expect(await names("phase=QUEUED,RUNNING")).toEqual(["a"]);
    expect(await names("launchPlan=nightly")).toEqual(["a"]);
    expect(await names("workflow=pipeline")).toEqual(["b", "a"]);
    expect(await names("label=tier=gold&label=team")).toEqual(["a"]);
    expect(await names("createdAfter=2025-03-01T12:00:30Z")).toEqual(["b"]);
    expect(await names("createdBefore=2025-03-01T12:00:30Z")).toEqual(["a"]);
  });
});

/** A three-batch Arrow IPC stream: a = 0..8, b = "r0".."r8", c = a * 10. */
function threeBatches(): Uint8Array {
  const batch = (from: number) => {
    const rows = [from, from + 1, from + 2];
    return new Table({
      a: vectorFromArray(rows, new Int32()),
      b: vectorFromArray(rows.map((r) => `r${r}`), new Utf8()),
      c: vectorFromArray(rows.map((r) => r * 10), new Float64()),
    }).batches[0]!;
  };
  return tableToIPC(new Table([batch(0), batch(3), batch(6)] as RecordBatch[]), "stream");
}

describe("nodes and the data API", () => {
  const reportWorkflow = (): WorkflowSpec => ({
    name: "report",
    interface: { inputs: { df: { type: { kind: "dataframe" } } }, outputs: { rows: { type: { kind: "int" } } } },
    nodes: [
      {
        kind: "task",
        id: "summarize",
        target: { resourceType: "task", name: "summarize" },
        inputs: { df: { kind: "input", name: "df" } },
        upstream: [],
        metadata: { name: "summarize" },
        outputs: { rows: { kind: "int" } },
      },
    ],
    outputs: { rows: { kind: "output", node: "summarize", output: "rows" } },
    failurePolicy: "fail_immediately",
  });
  const ipc = threeBatches();
  const hash = sha256(ipc);
  const dfLiteral: Literal = { kind: "blob", blob: { hash, size: ipc.byteLength, format: "arrow" } };
  const key = { project: "demo", domain: "development", name: "r1" };
  const nodePath = `${dev}/executions/r1/nodes/summarize`;

  beforeEach(async () => {
    await backend.createProject("demo");
    const bundle = Buffer.from("bundle of summarize");
    await expectJson(backend.request(`/projects/demo/bundles/${sha256(bundle)}`, { method: "PUT", body: bundle }), 201);
    await expectJson(backend.request(`${dev}/tasks/summarize/versions/v1`, { method: "PUT", json: { spec: summarizeTask(), bundle: sha256(bundle) } }), 201);
    await expectJson(backend.request(`${dev}/workflows/report/versions/v1`, { method: "PUT", json: { spec: reportWorkflow() } }), 201);
    await expectJson(backend.request(`/projects/demo/blobs/${hash}`, { method: "PUT", body: ipc }), 201);
    await expectJson(backend.request(`${dev}/executions`, { method: "POST", json: { name: "r1", workflow: { name: "report" }, inputs: { df: dfLiteral } } }), 201);
    // What the engine will do: record the node, its inputs and an attempt.
    const now = backend.clock.now();
    await backend.store.putNodeExecution({ execution: key, nodeId: "summarize", phase: "RUNNING", inputs: { inline: { df: dfLiteral } }, attempts: 1, createdAt: now, updatedAt: now });
    await backend.store.putNodeAttempt({ execution: key, nodeId: "summarize", attempt: 0, phase: "RUNNING", startedAt: now, updatedAt: now });
  });

  it("serves nodes with their attempts", async () => {
    const nodes = await expectJson<{ items: { nodeId: string; phase: string; inputs: unknown }[] }>(backend.request(`${dev}/executions/r1/nodes`), 200);
    expect(nodes.items).toEqual([expect.objectContaining({ nodeId: "summarize", phase: "RUNNING", inputs: { df: dfLiteral }, attempts: 1 })]);
    expect(await expectJson(backend.request(nodePath), 200)).toMatchObject({ attempts: [{ attempt: 0, phase: "RUNNING" }] });
    expect(await expectJson(backend.request(`${nodePath}/attempts`), 200)).toMatchObject({ items: [{ attempt: 0 }] });
    await expectJson(backend.request(`${dev}/executions/r1/nodes/other`), 404);
  });

  it("reads a literal, and an Arrow blob whole, by rows and by columns", async () => {
    expect(await expectJson(backend.request(`${nodePath}/inputs/df`), 200)).toEqual(dfLiteral);
    const whole = await backend.request(`${nodePath}/inputs/df/blob`);
    expect(whole.headers.get("content-type")).toBe("application/vnd.apache.arrow.stream");
    expect(Buffer.from(await whole.arrayBuffer()).equals(Buffer.from(ipc))).toBe(true);

    const slice = await backend.request(`${nodePath}/inputs/df/blob?offset=2&limit=5&columns=c,a`);
    expect(slice.status).toBe(200);
    const table = tableFromIPC(new Uint8Array(await slice.arrayBuffer()));
    expect(table.schema.fields.map((f) => f.name)).toEqual(["c", "a"]);
    expect(table.getChild("a")!.toArray()).toEqual(Int32Array.from([2, 3, 4, 5, 6]));
    expect([...table.getChild("c")!.toArray()]).toEqual([20, 30, 40, 50, 60]);

    const tail = tableFromIPC(new Uint8Array(await (await backend.request(`/projects/demo/blobs/${hash}?offset=7`)).arrayBuffer()));
    expect(tail.getChild("b")!.toArray()).toEqual(["r7", "r8"]);
    const empty = tableFromIPC(new Uint8Array(await (await backend.request(`/projects/demo/blobs/${hash}?offset=100&limit=10`)).arrayBuffer()));
    expect(empty.numRows).toBe(0);
    expect(empty.schema.fields.map((f) => f.name)).toEqual(["a", "b", "c"]);

    const unknown = await expectJson<{ error: { field: string; message: string } }>(backend.request(`${nodePath}/inputs/df/blob?columns=a,zz`), 400);
    expect(unknown.error).toMatchObject({ field: "columns" });
    expect(unknown.error.message).toContain("columns: a, b, c");
    const badOffset = await expectJson<{ error: { field: string } }>(backend.request(`${nodePath}/inputs/df/blob?offset=-1`), 400);
    expect(badOffset.error.field).toBe("offset");
  });

  it("serves byte ranges, and refuses to slice what is not Arrow", async () => {
    const text = Buffer.from("not arrow at all");
    await expectJson(backend.request(`/projects/demo/blobs/${sha256(text)}`, { method: "PUT", body: text }), 201);
    const part = await backend.request(`/projects/demo/blobs/${sha256(text)}`, { headers: { range: "bytes=4-8" } });
    expect(part.status).toBe(206);
    expect(part.headers.get("content-range")).toBe(`bytes 4-8/${text.byteLength}`);
    expect(await part.text()).toBe("arrow");
    const notArrow = await expectJson<{ error: { code: string } }>(backend.request(`/projects/demo/blobs/${sha256(text)}?limit=1`), 400);
    expect(notArrow.error.code).toBe("NOT_ARROW");
  });

  it("lets a node token read its inputs and bundle and write its outputs and checkpoint", async () => {
    const { token } = await backend.store.createNodeToken({ execution: key, node: "summarize" });
    expect(await expectJson(backend.request(`${nodePath}/inputs`, { token }), 200)).toEqual({ df: dfLiteral });
    expect((await backend.request(`${nodePath}/inputs/df/blob?limit=1`, { token })).status).toBe(200);
    expect((await backend.request(`/projects/demo/blobs/${hash}`, { token })).status).toBe(200);
    const bundle = sha256(Buffer.from("bundle of summarize"));
    expect(await (await backend.request(`/projects/demo/bundles/${bundle}`, { token })).text()).toBe("bundle of summarize");

    const state = Buffer.from("checkpoint state");
    await expectJson(backend.request(`/projects/demo/blobs/${sha256(state)}`, { method: "PUT", body: state, token }), 201);
    const checkpoint = { hash: sha256(state), size: state.byteLength, format: "file" };
    await expectJson(backend.request(`${nodePath}/checkpoint`, { method: "PUT", json: { checkpoint }, token }), 200);
    expect(await expectJson(backend.request(`${nodePath}/checkpoint`, { token }), 200)).toEqual({ checkpoint });

    const bad = await expectJson<{ error: { field: string; message: string } }>(
      backend.request(`${nodePath}/outputs`, { method: "PUT", json: { outputs: { rows: { kind: "string", value: "9" } } }, token }),
      400,
    );
    expect(bad.error).toMatchObject({ field: "outputs.rows" });
    expect(bad.error.message).toContain("expected int, got a string literal");
    const extra = await expectJson<{ error: { field: string } }>(backend.request(`${nodePath}/outputs`, { method: "PUT", json: { outputs: { rows: int(9), more: int(1) } }, token }), 400);
    expect(extra.error.field).toBe("outputs.more");
    await expectJson(backend.request(`${nodePath}/outputs`, { method: "PUT", json: { outputs: { rows: int(9) } }, token }), 200);
    expect(await expectJson(backend.request(`${nodePath}/outputs/rows`), 200)).toEqual(int(9));
    // Nothing else: not the execution, not the project, not the registry.
    await expectJson(backend.request(`${dev}/executions/r1`, { token }), 404);
    await expectJson(backend.request("/projects/demo", { token }), 404);
    await expectJson(backend.request(`${dev}/tasks/summarize/versions/v1`, { method: "PUT", json: { spec: summarizeTask() }, token }), 404);
  });
});

describe("tokens and roles", () => {
  beforeEach(registerBasics);

  it("answers 401 without a valid token", async () => {
    expect((await backend.request("/projects", { token: null })).status).toBe(401);
    expect((await backend.request("/projects", { token: "petrel_nonsense" })).headers.get("www-authenticate")).toContain("Bearer");
  });

  it("lets a viewer read but not write", async () => {
    const viewer = await backend.createToken([{ project: "demo", role: "viewer" }]);
    await expectJson(backend.request(`${dev}/tasks/add/versions/v1`, { token: viewer }), 200);
    const denied = await expectJson<{ error: { code: string; message: string } }>(
      backend.request(`${dev}/tasks/add/versions/v9`, { method: "PUT", json: { spec: addTask() }, token: viewer }),
      403,
    );
    expect(denied.error.message).toContain("needs the editor role");
    await expectJson(backend.request(`${dev}/executions`, { method: "POST", json: { launchPlan: { name: "nightly" } }, token: viewer }), 403);
  });

  it("needs editor in the target domain to promote", async () => {
    const devEditor = await backend.createToken([
      { project: "demo", role: "editor", domains: ["development"] },
      { project: "demo", role: "viewer" },
    ]);
    await expectJson(backend.request(`${dev}/tasks/add/versions/v2`, { method: "PUT", json: { spec: addTask({ retries: 1 }) }, token: devEditor }), 201);
    const denied = await expectJson<{ error: { message: string } }>(
      backend.request(`${dev}/tasks/add/versions/v2/promote`, { method: "POST", json: { toDomain: "production" }, token: devEditor }),
      403,
    );
    expect(denied.error.message).toContain("domain production");
    const releaser = await backend.createToken([{ project: "demo", role: "editor" }], "releaser");
    expect(await expectJson(backend.request(`${dev}/tasks/add/versions/v2/promote`, { method: "POST", json: { toDomain: "production" }, token: releaser }), 201)).toMatchObject({
      promoted: [{ domain: "production", name: "add", version: "v2" }],
    });
    expect(await expectJson(backend.request("/projects/demo/domains/production/tasks/add/versions/v2"), 200)).toMatchObject({ promotedFrom: { by: "releaser" } });
  });

  it("lets the admin and project admins create tokens, and a token revoke itself", async () => {
    const created = await expectJson<{ token: string; id: string }>(
      backend.request("/tokens", { method: "POST", json: { name: "ci", grants: [{ project: "demo", role: "admin" }] } }),
      201,
    );
    const projectAdmin = created.token;
    const made = await expectJson<{ token: string; id: string }>(
      backend.request("/tokens", { method: "POST", json: { name: "bot", grants: [{ project: "demo", role: "viewer" }] }, token: projectAdmin }),
      201,
    );
    await expectJson(backend.request("/projects/demo", { token: made.token }), 200);
    const editor = await backend.createToken([{ project: "demo", role: "editor" }]);
    await expectJson(backend.request("/tokens", { method: "POST", json: { name: "x", grants: [{ project: "demo", role: "viewer" }] }, token: editor }), 403);
    expect(await expectJson(backend.request(`/tokens/${made.id}`, { token: made.token }), 200)).toMatchObject({ name: "bot", grants: [{ project: "demo", role: "viewer" }] });
    await expectJson(backend.request(`/tokens/${made.id}`, { token: editor }), 404);
    await expectJson(backend.request(`/tokens/${made.id}`, { method: "DELETE", token: made.token }), 200);
    expect((await backend.request("/projects/demo", { token: made.token })).status).toBe(401);
    expect(await expectJson(backend.request("/whoami", { token: projectAdmin }), 200)).toMatchObject({ name: "ci", kind: "user" });
  });
});

describe("OpenAPI", () => {
  it("documents every route, without a token, with resolvable schema references", async () => {
    const doc = await expectJson<{ openapi: string; paths: Record<string, Record<string, { operationId: string }>>; components: { schemas: Record<string, unknown> } }>(
      backend.request("/openapi.json", { token: null }),
      200,
    );
    expect(doc.openapi).toBe("3.1.0");
    for (const r of API_ROUTES) expect(doc.paths[`/api/v1${r.path}`]?.[r.method.toLowerCase()]?.operationId, `${r.method} ${r.path}`).toBe(r.operationId);
    const refs = JSON.stringify(doc).match(/"#\/components\/schemas\/[A-Za-z]+"/g) ?? [];
    for (const ref of new Set(refs)) expect(doc.components.schemas, ref).toHaveProperty(ref.slice('"#/components/schemas/'.length, -1));
    expect(doc.components.schemas).toHaveProperty("TaskSpec");
    expect(new Set(API_ROUTES.map((r) => r.operationId)).size).toBe(API_ROUTES.length);
  });
});
