// Bad input, table-driven: every case is a 4xx whose message names the field,
// and neither the metadata store nor the blob store changes.
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestBackend, type TestBackend } from "../../backend/index.js";
import { sha256 } from "../../kernel/index.js";
import { addTask, cyclicWorkflow, illTypedWorkflow, int, nightlyPlan, pipelineWorkflow } from "./fixtures.js";

const dev = "/projects/demo/domains/development";
const taskV2 = `${dev}/tasks/add/versions/v2`;

interface Case {
  name: string;
  method: string;
  path: string;
  json?: unknown;
  body?: string | Buffer;
  headers?: Record<string, string>;
  status: number;
  field: string;
  code?: string;
  /** A fragment the message must contain. */
  says?: string;
}

const withSpec = (spec: unknown) => ({ spec });
const big = Buffer.alloc(70 * 1024, "x");

const CASES: Case[] = [
  // Malformed and mistyped bodies.
  { name: "malformed JSON", method: "PUT", path: taskV2, body: '{"spec": {', headers: { "content-type": "application/json" }, status: 400, field: "body", code: "MALFORMED_JSON" },
  { name: "a JSON array instead of an object", method: "PUT", path: taskV2, json: [1, 2], status: 400, field: "body", says: "must be object" },
  { name: "an empty body", method: "PUT", path: taskV2, status: 400, field: "body", says: "empty body" },
  { name: "a non-JSON content type", method: "PUT", path: taskV2, body: "spec=1", headers: { "content-type": "application/x-www-form-urlencoded" }, status: 415, field: "content-type" },
  { name: "a schema violation (negative retries)", method: "PUT", path: taskV2, json: withSpec(addTask({ retries: -1 })), status: 400, field: "spec.retries", code: "SCHEMA_VIOLATION" },
  { name: "a missing required field", method: "PUT", path: taskV2, json: withSpec({ ...addTask(), interface: undefined }), status: 400, field: "spec.interface", says: "is required" },
  { name: "an unknown top-level field", method: "PUT", path: taskV2, json: { spec: addTask(), extra: 1 }, status: 400, field: "extra", code: "UNKNOWN_FIELD" },
  { name: "an unknown field deep in the spec", method: "PUT", path: taskV2, json: withSpec({ ...addTask(), interface: { inputs: { a: { type: { kind: "int", bogus: true } } }, outputs: {} } }), status: 400, field: "spec.interface.inputs.a.type.bogus", code: "UNKNOWN_FIELD" },
  { name: "a misspelt type kind", method: "PUT", path: taskV2, json: withSpec({ ...addTask(), interface: { inputs: { a: { type: { kind: "integer" } } }, outputs: {} } }), status: 400, field: "spec.interface.inputs.a.type.kind" },
  { name: "a default that does not fit its type", method: "PUT", path: taskV2, json: withSpec({ ...addTask(), interface: { inputs: { a: { type: { kind: "int" }, default: { kind: "bool", value: true } } }, outputs: {} } }), status: 400, field: "spec.interface.inputs.a.default" },
  { name: "a spec name different from the path", method: "PUT", path: taskV2, json: withSpec(addTask({ name: "mul" })), status: 400, field: "spec.name" },
  { name: "a bundle that was never uploaded", method: "PUT", path: taskV2, json: { spec: addTask(), bundle: sha256("nothing") }, status: 400, field: "bundle", code: "UNKNOWN_REFERENCE" },
  { name: "a body over the size limit", method: "PUT", path: taskV2, json: { spec: { ...addTask(), description: big.toString() } }, status: 413, field: "body", code: "BODY_TOO_LARGE" },

  // Workflows and launch plans.
  { name: "a cyclic workflow", method: "PUT", path: `${dev}/workflows/cyclic/versions/v1`, json: withSpec(cyclicWorkflow()), status: 400, field: "spec.nodes[0]", code: "WORKFLOW_COMPILE", says: "cycle" },
  { name: "an ill-typed workflow", method: "PUT", path: `${dev}/workflows/illtyped/versions/v1`, json: withSpec(illTypedWorkflow()), status: 400, field: "spec.nodes[0].inputs.a", says: "expected int, got string" },
  { name: "a workflow calling an unregistered task", method: "PUT", path: `${dev}/workflows/pipeline/versions/v2`, json: withSpec(pipelineWorkflow({ nodes: [{ ...pipelineWorkflow().nodes[0]!, target: { resourceType: "task", name: "ghost" } } as never] })), status: 400, field: "spec.nodes[0].target", code: "UNKNOWN_REFERENCE" },
  { name: "a binding to a workflow input named like an Object.prototype member", method: "PUT", path: `${dev}/workflows/pipeline/versions/v2`, json: withSpec(pipelineWorkflow({ nodes: [{ ...pipelineWorkflow().nodes[0]!, inputs: { a: { kind: "input", name: "constructor" } } } as never] })), status: 400, field: "spec.nodes[0].inputs.a", says: "unknown workflow input constructor" },
  { name: "a launch plan naming a missing workflow", method: "PUT", path: `${dev}/launch-plans/lp/versions/v1`, json: withSpec(nightlyPlan({ name: "lp", workflow: { resourceType: "workflow", name: "ghost" } })), status: 400, field: "spec.workflow", code: "UNKNOWN_REFERENCE" },
  { name: "an invalid cron string (out of range)", method: "PUT", path: `${dev}/launch-plans/lp/versions/v1`, json: withSpec(nightlyPlan({ name: "lp", schedule: { kind: "cron", expression: "0 25 * * *" } })), status: 400, field: "spec.schedule.expression", code: "INVALID_SCHEDULE", says: "hour" },
  { name: "an invalid cron string (shape)", method: "PUT", path: `${dev}/launch-plans/lp/versions/v1`, json: withSpec(nightlyPlan({ name: "lp", schedule: { kind: "cron", expression: "every day" } })), status: 400, field: "spec.schedule.expression" },
  { name: "an unknown cron alias", method: "PUT", path: `${dev}/launch-plans/lp/versions/v1`, json: withSpec(nightlyPlan({ name: "lp", schedule: { kind: "cron", expression: "@fortnightly" } })), status: 400, field: "spec.schedule.expression", code: "INVALID_SCHEDULE", says: "unknown alias @fortnightly" },
  { name: "an unknown time zone", method: "PUT", path: `${dev}/launch-plans/lp/versions/v1`, json: withSpec(nightlyPlan({ name: "lp", schedule: { kind: "cron", expression: "0 6 * * *", timezone: "Mars/Olympus" } })), status: 400, field: "spec.schedule.timezone", code: "INVALID_SCHEDULE", says: "unknown time zone \"Mars/Olympus\"" },
  { name: "a fixed rate below the server's minimum", method: "PUT", path: `${dev}/launch-plans/lp/versions/v1`, json: withSpec(nightlyPlan({ name: "lp", schedule: { kind: "rate", everyMs: 5_000 } })), status: 400, field: "spec.schedule.everyMs", code: "INVALID_SCHEDULE", says: "below this server's minimum of 1m" },
  { name: "a schedule that leaves a required input without a value", method: "PUT", path: `${dev}/launch-plans/lp/versions/v1`, json: withSpec(nightlyPlan({ name: "lp", fixedInputs: {} })), status: 400, field: "spec.schedule", code: "INVALID_SCHEDULE", says: "x (int) has none" },
  { name: "a kickoff input the workflow does not have", method: "PUT", path: `${dev}/launch-plans/lp/versions/v1`, json: withSpec(nightlyPlan({ name: "lp", schedule: { kind: "cron", expression: "@daily", kickoffTimeInput: "at" } })), status: 400, field: "spec.schedule.kickoffTimeInput", code: "INVALID_SCHEDULE", says: "no datetime input at" },
  { name: "an unknown catch-up policy", method: "PUT", path: `${dev}/launch-plans/lp/versions/v1`, json: withSpec(nightlyPlan({ name: "lp", schedule: { kind: "cron", expression: "@daily", catchUp: "some" as never } })), status: 400, field: "spec.schedule.catchUp" },
  { name: "a catch-up limit of 0", method: "PUT", path: `${dev}/launch-plans/lp/versions/v1`, json: withSpec(nightlyPlan({ name: "lp", schedule: { kind: "cron", expression: "@daily", catchUpLimit: 0 } })), status: 400, field: "spec.schedule.catchUpLimit" },
  { name: "too many next runs of a schedule", method: "GET", path: `${dev}/launch-plans/nightly/schedule?n=1000`, status: 400, field: "n" },

  // Names, versions and keys that are paths or carry control characters.
  { name: "a version with a newline", method: "PUT", path: `${dev}/tasks/add/versions/v1%0A`, json: withSpec(addTask()), status: 400, field: "version", says: "control character (U+000A)" },
  { name: "a version with a NUL", method: "PUT", path: `${dev}/tasks/add/versions/v%001`, json: withSpec(addTask()), status: 400, field: "version", says: "control character (U+0000)" },
  { name: "a version that is a relative path", method: "PUT", path: `${dev}/tasks/add/versions/..%2F..%2Fx`, json: withSpec(addTask()), status: 400, field: "version", says: "looks like a path" },
  { name: "a version that is an absolute path", method: "PUT", path: `${dev}/tasks/add/versions/%2Fetc%2Fpasswd`, json: withSpec(addTask()), status: 400, field: "version", says: "looks like a path" },
  { name: "a name with ../", method: "PUT", path: `${dev}/tasks/..%2Fetc/versions/v1`, json: withSpec(addTask()), status: 400, field: "name", says: "looks like a path" },
  { name: "a project that is a path", method: "GET", path: "/projects/..%2F..", status: 400, field: "project" },
  { name: "a spec name that is a path", method: "PUT", path: taskV2, json: withSpec(addTask({ name: "../../etc" })), status: 400, field: "spec.name" },
  { name: "a blob key with ..", method: "PUT", path: "/projects/demo/blobs/..%2F..%2Fetc%2Fpasswd", body: "x", status: 400, field: "hash", says: "looks like a path" },
  { name: "an absolute blob key", method: "GET", path: "/projects/demo/blobs/%2Fetc%2Fpasswd", status: 400, field: "hash" },
  { name: "an execution name that is a path", method: "POST", path: `${dev}/executions`, json: { name: "../x", launchPlan: { name: "nightly" } }, status: 400, field: "name" },
  { name: "a blob file name that is a path", method: "POST", path: `${dev}/executions`, json: { workflow: { name: "pipeline" }, inputs: { x: int(1), note: { kind: "blob", blob: { hash: sha256("bundle"), size: 6, format: "file", filename: "../../etc/passwd" } } } }, status: 400, field: "inputs.note" },

  // Blobs.
  { name: "bundle bytes that do not match their hash", method: "PUT", path: `/projects/demo/bundles/${sha256("the declared bytes")}`, body: "other bytes", status: 400, field: "body", code: "BLOB_INTEGRITY" },
  { name: "a blob over the size limit", method: "PUT", path: `/projects/demo/blobs/${sha256(big)}`, body: Buffer.concat([big, big]), status: 413, field: "body" },

  // Executions.
  { name: "neither a launch plan nor a workflow", method: "POST", path: `${dev}/executions`, json: { inputs: {} }, status: 400, field: "launchPlan" },
  { name: "an input of the wrong type", method: "POST", path: `${dev}/executions`, json: { workflow: { name: "pipeline" }, inputs: { x: { kind: "string", value: "1" } } }, status: 400, field: "inputs.x", says: "expected int" },
  { name: "an unknown input", method: "POST", path: `${dev}/executions`, json: { workflow: { name: "pipeline" }, inputs: { x: int(1), zzz: int(1) } }, status: 400, field: "inputs.zzz" },
  { name: "an input named like an Object.prototype member", method: "POST", path: `${dev}/executions`, json: { workflow: { name: "pipeline" }, inputs: { x: int(1), constructor: int(1) } }, status: 400, field: "inputs.constructor", says: "has no input constructor" },
  { name: "a launch plan default named like an Object.prototype member", method: "PUT", path: `${dev}/launch-plans/lp/versions/v1`, json: withSpec(nightlyPlan({ name: "lp", defaultInputs: { toString: int(1) } })), status: 400, field: "spec.defaultInputs.toString" },
  { name: "a missing required input", method: "POST", path: `${dev}/executions`, json: { workflow: { name: "pipeline" } }, status: 400, field: "inputs.x", says: "is required" },
  { name: "an override of a fixed input", method: "POST", path: `${dev}/executions`, json: { launchPlan: { name: "nightly" }, inputs: { x: int(2) } }, status: 400, field: "inputs.x", says: "fixed" },
  { name: "a literal with an unknown field", method: "POST", path: `${dev}/executions`, json: { workflow: { name: "pipeline" }, inputs: { x: { kind: "int", value: "1", unit: "m" } } }, status: 400, field: "inputs.x.unit", code: "UNKNOWN_FIELD" },
  { name: "an int literal that is not a decimal string", method: "POST", path: `${dev}/executions`, json: { workflow: { name: "pipeline" }, inputs: { x: { kind: "int", value: "01" } } }, status: 400, field: "inputs.x.value" },
  { name: "an empty terminate cause", method: "POST", path: `${dev}/executions/e1/terminate`, json: { cause: "" }, status: 400, field: "cause" },
  { name: "an unknown phase filter", method: "GET", path: `${dev}/executions?phase=DONE`, status: 400, field: "phase" },
  { name: "a page size of 0", method: "GET", path: `${dev}/executions?limit=0`, status: 400, field: "limit" },
  { name: "a forged cursor", method: "GET", path: `${dev}/executions?cursor=abc`, status: 400, field: "cursor" },
  { name: "a time that is not ISO", method: "GET", path: `${dev}/executions?createdAfter=yesterday`, status: 400, field: "createdAfter" },

  // Projects and tokens.
  { name: "a project name with a space", method: "POST", path: "/projects", json: { name: "my project" }, status: 400, field: "name" },
  { name: "a label value with a control character", method: "POST", path: "/projects", json: { name: "p2", labels: { team: "a\u0007b" } }, status: 400, field: "labels.team" },
  { name: "an unknown role", method: "POST", path: "/tokens", json: { name: "t", grants: [{ project: "demo", role: "owner" }] }, status: 400, field: "grants[0].role" },
  { name: "a grant on an unknown domain", method: "POST", path: "/tokens", json: { name: "t", grants: [{ project: "demo", role: "viewer", domains: ["qa"] }] }, status: 400, field: "grants[0].domains" },
];

let backend: TestBackend;
const blobFiles = () =>
  readdirSync(join(backend.dir, "blobs"), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name))
    .sort();

beforeAll(async () => {
  backend = await createTestBackend({ maxJsonBytes: 64 * 1024, maxBlobBytes: 100 * 1024 });
  await backend.createProject("demo");
  const bundle = Buffer.from("bundle");
  await backend.request(`/projects/demo/bundles/${sha256(bundle)}`, { method: "PUT", body: bundle });
  for (const [path, spec] of [
    [`${dev}/tasks/add/versions/v1`, addTask()],
    [`${dev}/workflows/pipeline/versions/v1`, pipelineWorkflow()],
    [`${dev}/launch-plans/nightly/versions/v1`, nightlyPlan()],
  ] as const) {
    const res = await backend.request(path, { method: "PUT", json: { spec } });
    if (res.status !== 201) throw new Error(await res.text());
  }
  await backend.request(`${dev}/executions`, { method: "POST", json: { name: "e1", launchPlan: { name: "nightly" } } });
});
afterAll(async () => backend.close());

describe("bad input", () => {
  it.each(CASES.map((c) => [c.name, c] as const))("rejects %s with a 4xx naming the field, changing nothing", async (_, c) => {
    const rows = await backend.store.counts();
    const files = blobFiles();
    const res = await backend.request(c.path, {
      method: c.method,
      ...(c.json !== undefined ? { json: c.json } : {}),
      ...(c.body !== undefined ? { body: c.body } : {}),
      ...(c.headers ? { headers: c.headers } : {}),
    });
    const text = await res.text();
    expect(res.status, text).toBe(c.status);
    const error = (JSON.parse(text) as { error: { code: string; message: string; field: string } }).error;
    expect(error.field, text).toBe(c.field);
    expect(error.message, text).toContain(c.field);
    if (c.code) expect(error.code, text).toBe(c.code);
    if (c.says) expect(error.message, text).toContain(c.says);
    expect(await backend.store.counts()).toEqual(rows);
    expect(blobFiles()).toEqual(files);
  });

  it("never routes a bare .. segment: URL normalization resolves it first, so it reaches no handler", async () => {
    const rows = await backend.store.counts();
    const res = await backend.request(`${dev}/tasks/add/versions/%2E%2E`, { method: "PUT", json: withSpec(addTask()) });
    expect(res.status).toBe(404);
    expect(await backend.store.counts()).toEqual(rows);
  });

  it("left the registered versions as they were", async () => {
    const res = await backend.request(`${dev}/tasks/add/versions`);
    expect(((await res.json()) as { items: { version: string }[] }).items.map((v) => v.version)).toEqual(["v1"]);
  });
});
