// Isolation, table-driven over every route of the API.
//
// Two projects, A and B, hold the same kinds of things. For each route:
// - a viewer of A asking about B gets 404 (or, for routes outside projects, no
//   sight of B), with the very body a project that does not exist gets, and B's
//   rows are unchanged;
// - the admin asking the same request gets a success, so the 404 comes from
//   isolation and not from a bad request;
// - a node token of A (one node of one execution) gets 404 on every route except
//   its own node's data routes, and 404 for its sibling node's data.
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { API_ROUTES, createFileBlobStore, createManualClock, createSqliteStore, createTestBackend, type RouteDef, type TestBackend } from "../../backend/index.js";
import { sha256, type Literal } from "../../kernel/index.js";
import { addTask, int, nightlyPlan, pipelineWorkflow } from "./fixtures.js";

let backend: TestBackend;
/** Per project: the blobs it holds and the id of one of its tokens. */
const seeds: Record<string, { bundle: Buffer; data: Buffer; tokenId: string }> = {};

const bytesOf = (project: string, what: string) => Buffer.from(`${what} of project ${project}`);
const blobLiteral = (bytes: Buffer): Literal => ({ kind: "blob", blob: { hash: sha256(bytes), size: bytes.byteLength, format: "file" } });

async function seedProject(p: string): Promise<void> {
  const ok = async (res: Promise<Response>) => {
    const r = await res;
    if (r.status >= 300) throw new Error(`seeding ${p}: ${r.status} ${await r.text()}`);
  };
  await backend.createProject(p);
  const bundle = bytesOf(p, "bundle");
  const data = bytesOf(p, "data");
  await ok(backend.request(`/projects/${p}/bundles/${sha256(bundle)}`, { method: "PUT", body: bundle }));
  await ok(backend.request(`/projects/${p}/blobs/${sha256(data)}`, { method: "PUT", body: data }));
  const dev = `/projects/${p}/domains/development`;
  await ok(backend.request(`${dev}/tasks/add/versions/v1`, { method: "PUT", json: { spec: addTask(), bundle: sha256(bundle) } }));
  await ok(backend.request(`${dev}/workflows/pipeline/versions/v1`, { method: "PUT", json: { spec: pipelineWorkflow() } }));
  await ok(backend.request(`${dev}/launch-plans/nightly/versions/v1`, { method: "PUT", json: { spec: nightlyPlan() } }));
  await ok(backend.request(`${dev}/launch-plans/nightly/versions/v1/activate`, { method: "POST" }));
  await ok(backend.request(`${dev}/executions`, { method: "POST", json: { name: "e1", launchPlan: { name: "nightly" } } }));
  await ok(backend.request(`${dev}/executions`, { method: "POST", json: { name: "running", launchPlan: { name: "nightly" } } }));
  const key = { project: p, domain: "development", name: "e1" };
  const now = backend.clock.now();
  await backend.store.updateExecution(key, { phase: "FAILED", outputs: { inline: { out: int(3) } }, updatedAt: now });
  for (const node of ["add", "other"]) {
    await backend.store.putNodeExecution({
      execution: key,
      nodeId: node,
      phase: "RUNNING",
      inputs: { inline: { a: int(1), b: int(2), df: blobLiteral(data) } },
      outputs: { inline: { sum: int(3), report: blobLiteral(data) } },
      checkpoint: { hash: sha256(data), size: data.byteLength, format: "file" },
      attempts: 1,
      createdAt: now,
      updatedAt: now,
    });
    await backend.store.putNodeAttempt({ execution: key, nodeId: node, attempt: 0, phase: "RUNNING", updatedAt: now });
  }
  const { record } = await backend.store.createToken({ name: `bot of ${p}`, kind: "user", grants: [{ project: p, role: "viewer" }], createdBy: "admin" });
  seeds[p] = { bundle, data, tokenId: record.id };
}

/** A request for one route, aimed at one project. */
interface Aimed {
  path: string;
  json?: unknown;
  body?: Buffer;
}

const ENTITY_NAMES: Record<string, string> = { tasks: "add", workflows: "pipeline", "launch-plans": "nightly" };

/**
 * Control requests that reach their handler and get its own answer, which differs
 * from isolation's 404: no engine runs in this backend, and the seeded "bundle"
 * is placeholder bytes that registration cannot read.
 */
const CONTROL_STATUS: Record<string, number> = { reportAttemptOutcome: 409, heartbeatAttempt: 409, getAttemptLogs: 404, registerBundle: 400 };
const expectControl = async (route: RouteDef, res: Response) => {
  const expected = CONTROL_STATUS[route.operationId];
  if (expected === undefined) expect(res.status, await res.clone().text()).toBeLessThan(300);
  else expect(res.status, await res.clone().text()).toBe(expected);
};

/** Valid bodies (for the admin's control request) by operation. */
function bodyFor(route: RouteDef, project: string): Pick<Aimed, "json" | "body"> {
  const op = route.operationId;
  const seed = seeds[project] ?? seeds.A!;
  if (op === "registerTask") return { json: { spec: addTask({ retries: 1 }) } };
  if (op === "registerWorkflow") return { json: { spec: pipelineWorkflow() } };
  if (op === "registerLaunchPlan") return { json: { spec: nightlyPlan({ defaultInputs: { y: int(6) } }) } };
  if (op.startsWith("promote")) return { json: { toDomain: "staging" } };
  if (op === "createExecution") return { json: { launchPlan: { name: "nightly" } } };
  if (op === "terminateExecution") return { json: { cause: "test" } };
  if (op === "relaunchExecution" || op === "recoverExecution") return { json: {} };
  if (op === "writeNodeOutputs") return { json: { outputs: { sum: int(5) } } };
  if (op === "reportAttemptOutcome") return { json: { phase: "SUCCEEDED", outputs: { sum: int(5) } } };
  if (op === "writeNodeCheckpoint") return { json: { checkpoint: { hash: sha256(seed.data), size: seed.data.byteLength, format: "file" } } };
  if (op === "createProject") return { json: { name: `${project}_new` } };
  if (op === "createToken") return { json: { name: "t", grants: [{ project, role: "viewer" }] } };
  if (op === "uploadBundle" || op === "uploadBlob") return { body: bytesOf(project, op === "uploadBundle" ? "bundle" : "data") };
  return {};
}

/** The route's path with its parameters filled in for `project`, and `node`. */
function aim(route: RouteDef, project: string, node = "add"): Aimed {
  const seed = seeds[project] ?? seeds.A!;
  const segment = /\/(tasks|workflows|launch-plans)\//.exec(route.path)?.[1] ?? "launch-plans";
  const varName = route.path.endsWith("/inputs/{var}/blob")
    ? "df"
    : route.path.endsWith("/inputs/{var}")
      ? "a"
      : route.path.endsWith("/outputs/{var}/blob")
        ? "report"
        : "sum";
  const values: Record<string, string> = {
    project,
    domain: "development",
    name: ENTITY_NAMES[segment]!,
    // Registrations add a version; everything else reads the seeded one.
    version: route.operationId.startsWith("register") ? "v2" : "v1",
    // e1 has failed (it can be recovered, it has outputs); "running" can still be terminated.
    execution: route.operationId === "terminateExecution" ? "running" : "e1",
    node,
    var: varName,
    hash: sha256(route.path.includes("/bundles/") ? seed.bundle : seed.data),
    id: seed.tokenId,
    attempt: "0",
  };
  const path = route.path.replace(/\{([A-Za-z]+)\}/g, (_, p: string) => encodeURIComponent(values[p]!));
  return { path, ...bodyFor(route, project) };
}

async function send(route: RouteDef, aimed: Aimed, token: string): Promise<Response> {
  return backend.request(aimed.path, {
    method: route.method,
    token,
    ...(aimed.json !== undefined ? { json: aimed.json } : {}),
    ...(aimed.body !== undefined ? { body: aimed.body } : {}),
  });
}

/** Row counts of every table. */
async function rowsOf(): Promise<Record<string, number>> {
  return backend.store.counts();
}

// Seeding takes a few dozen requests; it runs once into a template directory
// that each test copies, so every test starts from the same state, fast.
let template: string;
const copies: string[] = [];
const open = async (dir: string) => {
  const clock = createManualClock();
  const store = await createSqliteStore({ path: join(dir, "petrel.sqlite"), clock });
  return createTestBackend({ clock, store, blobs: createFileBlobStore({ root: join(dir, "blobs"), durable: false }) });
};

beforeAll(async () => {
  template = mkdtempSync(join(tmpdir(), "petrel-isolation-"));
  backend = await open(template);
  await seedProject("A");
  await seedProject("B");
  await backend.close(); // closing the database folds its WAL into the file, so a copy is complete
});
afterAll(() => {
  for (const d of [template, ...copies]) rmSync(d, { recursive: true, force: true });
});
beforeEach(async () => {
  const dir = mkdtempSync(join(tmpdir(), "petrel-isolation-"));
  copies.push(dir);
  cpSync(template, dir, { recursive: true });
  backend = await open(dir);
});
afterEach(async () => backend.close());

const inProject = API_ROUTES.filter((r) => r.path.startsWith("/projects/{project}"));
const outside = API_ROUTES.filter((r) => !r.path.startsWith("/projects/{project}"));

describe("a viewer of project A", () => {
  it.each(inProject.map((r) => [`${r.method} ${r.path}`, r] as const))("gets 404 for B on %s, exactly as for a project that does not exist", async (_, route) => {
    const viewer = await backend.createToken([{ project: "A", role: "viewer" }]);
    const before = await rowsOf();
    const onB = await send(route, aim(route, "B"), viewer);
    const onGhost = await send(route, aim(route, "ghost"), viewer);
    expect(onB.status).toBe(404);
    expect(await onB.text()).toBe((await onGhost.text()).replaceAll("ghost", "B"));
    expect(await rowsOf()).toEqual(before);
    // The same request by the admin succeeds: the 404 was isolation, not a bad request.
    const control = await send(route, aim(route, "B"), backend.adminToken);
    await expectControl(route, control);
  });

  it.each(outside.map((r) => [`${r.method} ${r.path}`, r] as const))("learns nothing about B on %s", async (_, route) => {
    const viewer = await backend.createToken([{ project: "A", role: "viewer" }]);
    const res = await send(route, aim(route, "B"), viewer);
    const text = await res.text();
    switch (route.operationId) {
      case "listProjects":
        expect(res.status).toBe(200);
        expect((JSON.parse(text) as { items: { name: string }[] }).items.map((p) => p.name)).toEqual(["A"]);
        break;
      case "createProject":
        expect(res.status).toBe(403);
        break;
      case "createToken":
        expect(res.status).toBe(404);
        expect(text).toContain("project B not found");
        break;
      case "getToken":
      case "revokeToken":
        expect(res.status).toBe(404);
        break;
      default:
        expect(res.status).toBe(200);
        expect(text).not.toContain('"B"');
    }
    const control = await send(route, aim(route, "B"), backend.adminToken);
    await expectControl(route, control);
  });
});

describe("a node token of A/e1/add", () => {
  const nodeRoutes = API_ROUTES.filter((r) => r.access === "node" && r.path.includes("{node}"));
  const nodeToken = async (node = "add") => (await backend.store.createNodeToken({ execution: { project: "A", domain: "development", name: "e1" }, node })).token;
  /** What a node token may do on its own node (the rest of the node routes are for people). */
  const allowedOwn = new Set(nodeRoutes.map((r) => r.operationId));

  it.each(API_ROUTES.map((r) => [`${r.method} ${r.path}`, r] as const))("gets 404 for project B on %s", async (_, route) => {
    const token = await nodeToken();
    const before = await rowsOf();
    const res = await send(route, aim(route, "B"), token);
    expect(res.status, await res.clone().text()).toBe(route.operationId === "whoami" ? 200 : 404);
    expect(await rowsOf()).toEqual(before);
  });

  it.each(API_ROUTES.filter((r) => r.access !== "node" && r.operationId !== "whoami").map((r) => [`${r.method} ${r.path}`, r] as const))(
    "gets 404 in its own project on %s",
    async (_, route) => {
      const res = await send(route, aim(route, "A"), await nodeToken());
      expect(res.status, await res.clone().text()).toBe(404);
    },
  );

  it.each(nodeRoutes.map((r) => [`${r.method} ${r.path}`, r] as const))("reaches its own node on %s, and gets 404 for its sibling node", async (_, route) => {
    const token = await nodeToken();
    const sibling = await send(route, aim(route, "A", "other"), token);
    expect(sibling.status, await sibling.clone().text()).toBe(404);
    expect(await sibling.text()).toContain("node other not found");
    if (!allowedOwn.has(route.operationId)) return;
    const own = await send(route, aim(route, "A", "add"), token);
    await expectControl(route, own);
  });

  it("reads only the blobs its node reaches, and uploads only into its project", async () => {
    const token = await nodeToken();
    const data = seeds.A!.data;
    expect((await backend.request(`/projects/A/blobs/${sha256(data)}`, { token })).status).toBe(200);
    expect((await backend.request(`/projects/A/bundles/${sha256(seeds.A!.bundle)}`, { token })).status).toBe(200);
    const unrelated = Buffer.from("someone else's upload");
    await backend.request(`/projects/A/blobs/${sha256(unrelated)}`, { method: "PUT", body: unrelated });
    expect((await backend.request(`/projects/A/blobs/${sha256(unrelated)}`, { token })).status).toBe(404);
    const output = Buffer.from("my output");
    expect((await backend.request(`/projects/A/blobs/${sha256(output)}`, { method: "PUT", body: output, token })).status).toBe(201);
    expect((await backend.request(`/projects/B/blobs/${sha256(output)}`, { method: "PUT", body: output, token })).status).toBe(404);
  });

  it("stops working once the execution's node token expires", async () => {
    const token = await nodeToken();
    backend.clock.advance(25 * 60 * 60 * 1000);
    expect((await backend.request("/projects/A/domains/development/executions/e1/nodes/add/inputs", { token })).status).toBe(401);
  });
});

describe("the isolation table", () => {
  it("covers every route", () => {
    expect(inProject.length + outside.length).toBe(API_ROUTES.length);
    for (const r of API_ROUTES) expect(() => aim(r, "A"), `${r.method} ${r.path}`).not.toThrow();
  });
});
