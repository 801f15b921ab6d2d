// End-to-end API flows, written once against a minimal client so they run both
// in-process (app.request) and over a real socket (fetch).
import { expect } from "vitest";
import { sha256 } from "../../kernel/index.js";
import { addTask, int, nightlyPlan, pipelineWorkflow, str } from "./fixtures.js";

/** What a flow needs: send a request to /api/v1<path> as `token` (default: the admin). */
export type Client = (path: string, init?: { method?: string; token?: string; json?: unknown; body?: RequestInit["body"]; headers?: Record<string, string> }) => Promise<Response>;

/** A client over fetch for a server at `url`. */
export function fetchClient(url: string, adminToken: string): Client {
  return (path, init = {}) => {
    const headers: Record<string, string> = { authorization: `Bearer ${init.token ?? adminToken}`, ...(init.headers ?? {}) };
    let body = init.body;
    if (init.json !== undefined) {
      body = JSON.stringify(init.json);
      headers["content-type"] = "application/json";
    }
    return fetch(`${url}/api/v1${path}`, { method: init.method ?? "GET", headers, ...(body !== undefined ? { body, duplex: "half" } : {}) } as RequestInit);
  };
}

/** Reads a JSON response, asserting its status (showing the body when it differs). */
export async function expectJson<T = Record<string, unknown>>(res: Response | Promise<Response>, status: number): Promise<T> {
  const r = await res;
  const text = await r.text();
  expect(`${r.status} ${text}`.slice(0, 600)).toMatch(new RegExp(`^${status} `));
  return JSON.parse(text) as T;
}

const base = (project: string, domain = "development") => `/projects/${project}/domains/${domain}`;

/**
 * register -> get -> conflicting re-register (409 with diff) -> promote -> list,
 * then executions with defaults and fixed inputs applied.
 */
export async function registrationFlow(client: Client, project = "demo"): Promise<void> {
  await expectJson(client("/projects", { method: "POST", json: { name: project, description: "flow" } }), 201);

  // A bundle, content-addressed.
  const bundle = Buffer.from("export const add = (a, b) => a + b;\n");
  const bundleHash = sha256(bundle);
  expect(await expectJson(client(`/projects/${project}/bundles/${bundleHash}`, { method: "PUT", body: bundle }), 201)).toMatchObject({ hash: bundleHash, size: bundle.byteLength });
  const downloaded = await client(`/projects/${project}/bundles/${bundleHash}`);
  expect(Buffer.from(await downloaded.arrayBuffer()).equals(bundle)).toBe(true);

  // Register, and again: identical content is a no-op.
  const taskPath = `${base(project)}/tasks/add/versions/v1`;
  const created = await expectJson<{ id: unknown; digest: string; createdBy: string }>(client(taskPath, { method: "PUT", json: { spec: addTask(), bundle: bundleHash } }), 201);
  expect(created.id).toEqual({ resourceType: "task", project, domain: "development", name: "add", version: "v1" });
  const same = await expectJson<{ digest: string }>(client(taskPath, { method: "PUT", json: { spec: addTask(), bundle: bundleHash } }), 200);
  expect(same.digest).toBe(created.digest);

  // Get.
  const got = await expectJson<{ spec: unknown; bundle: string; createdBy: string }>(client(taskPath), 200);
  expect(got).toMatchObject({ spec: addTask(), bundle: bundleHash, createdBy: "admin" });

  // Different content under the same version: 409 naming what differs.
  const conflict = await expectJson<{ error: { code: string; message: string; field: string; details: { diff: unknown[] } } }>(
    client(taskPath, { method: "PUT", json: { spec: addTask({ retries: 3 }), bundle: bundleHash } }),
    409,
  );
  expect(conflict.error.code).toBe("VERSION_CONFLICT");
  expect(conflict.error.field).toBe("spec.retries");
  expect(conflict.error.details.diff).toEqual([{ path: "spec.retries", stored: 0, submitted: 3 }]);
  expect(conflict.error.message).toContain("spec.retries: 0 -> 3");

  // A workflow compiled against the domain, and a launch plan.
  const wf = await expectJson<{ references: unknown[] }>(client(`${base(project)}/workflows/pipeline/versions/v1`, { method: "PUT", json: { spec: pipelineWorkflow() } }), 201);
  expect(wf.references).toEqual([{ resourceType: "task", project, domain: "development", name: "add", version: "v1" }]);
  await expectJson(client(`${base(project)}/launch-plans/nightly/versions/v1`, { method: "PUT", json: { spec: nightlyPlan() } }), 201);
  expect(await expectJson(client(`${base(project)}/launch-plans/nightly/versions/v1/activate`, { method: "POST" }), 200)).toMatchObject({ active: true, previousActiveVersion: null });

  // Promote the workflow: it and the task it pins move to staging, unchanged.
  const promoted = await expectJson<{ promoted: { resourceType: string; name: string; domain: string }[] }>(
    client(`${base(project)}/workflows/pipeline/versions/v1/promote`, { method: "POST", json: { toDomain: "staging" } }),
    201,
  );
  expect(promoted.promoted.map((p) => `${p.resourceType}:${p.name}@${p.domain}`)).toEqual(["task:add@staging", "workflow:pipeline@staging"]);
  const staged = await expectJson<{ spec: unknown; bundle?: string; references: unknown[]; promotedFrom: { fromDomain: string; by: string; at: string } }>(
    client(`${base(project, "staging")}/tasks/add/versions/v1`),
    200,
  );
  expect(staged).toMatchObject({ spec: addTask(), bundle: bundleHash, promotedFrom: { fromDomain: "development", by: "admin" } });
  expect(Date.parse(staged.promotedFrom.at)).not.toBeNaN();
  const stagedWf = await expectJson<{ references: unknown[] }>(client(`${base(project, "staging")}/workflows/pipeline/versions/v1`), 200);
  expect(stagedWf.references).toEqual([{ resourceType: "task", project, domain: "staging", name: "add", version: "v1" }]);
  expect(await expectJson(client(`${base(project)}/workflows/pipeline/versions/v1/promote`, { method: "POST", json: { toDomain: "staging" } }), 200)).toMatchObject({
    promoted: [],
  });
  const audit = await expectJson<{ items: { id: { name: string }; fromDomain: string; by: string }[] }>(client(`/projects/${project}/promotions`), 200);
  expect(audit.items.map((p) => [p.id.name, p.fromDomain, p.by])).toEqual([
    ["add", "development", "admin"],
    ["pipeline", "development", "admin"],
  ]);

  // List.
  await expectJson(client(`${base(project)}/tasks/add/versions/v2`, { method: "PUT", json: { spec: addTask({ retries: 3 }), bundle: bundleHash } }), 201);
  const versions = await expectJson<{ items: { version: string }[] }>(client(`${base(project)}/tasks/add/versions`), 200);
  expect(versions.items.map((v) => v.version)).toEqual(["v2", "v1"]);
  const names = await expectJson<{ items: { name: string; latestVersion: string; versions: number }[] }>(client(`${base(project, "staging")}/workflows`), 200);
  expect(names.items).toEqual([expect.objectContaining({ name: "pipeline", latestVersion: "v1", versions: 1 })]);

  // Executions: fixed inputs win, the caller's come next, then launch plan and workflow defaults, optional inputs get none.
  const fromPlan = await expectJson<{ name: string; inputs: unknown; phase: string; launchPlan: { version: string }; labels: unknown }>(
    client(`${base(project)}/executions`, { method: "POST", json: { launchPlan: { name: "nightly" }, inputs: { y: int(7) }, labels: { run: "a" } } }),
    201,
  );
  expect(fromPlan).toMatchObject({ phase: "QUEUED", inputs: { x: int(10), y: int(7), note: { kind: "none" } }, launchPlan: { version: "v1" }, labels: { team: "ml", run: "a" } });
  const planDefaults = await expectJson<{ name: string; inputs: unknown }>(client(`${base(project)}/executions`, { method: "POST", json: { launchPlan: { name: "nightly" } } }), 201);
  expect(planDefaults.inputs).toEqual({ x: int(10), y: int(5), note: { kind: "none" } });
  const direct = await expectJson<{ inputs: unknown; workflow: { version: string } }>(
    client(`${base(project)}/executions`, { method: "POST", json: { name: "direct", workflow: { name: "pipeline" }, inputs: { x: int(1), note: str("hi") } } }),
    201,
  );
  expect(direct).toMatchObject({ inputs: { x: int(1), y: int(2), note: str("hi") }, workflow: { version: "v1" } });
  const fixed = await expectJson<{ error: { field: string; message: string } }>(
    client(`${base(project)}/executions`, { method: "POST", json: { launchPlan: { name: "nightly" }, inputs: { x: int(1) } } }),
    400,
  );
  expect(fixed.error.field).toBe("inputs.x");
  expect(fixed.error.message).toContain("fixed by launch plan nightly");
  const got1 = await expectJson<{ name: string; inputs: unknown }>(client(`${base(project)}/executions/direct`), 200);
  expect(got1.inputs).toEqual({ x: int(1), y: int(2), note: str("hi") });
  const listed = await expectJson<{ items: { name: string }[] }>(client(`${base(project)}/executions?launchPlan=nightly`), 200);
  expect(listed.items.map((e) => e.name)).toEqual([planDefaults.name, fromPlan.name]);
}
