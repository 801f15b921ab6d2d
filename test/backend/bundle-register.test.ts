// Registering a whole bundle in one request: every entity its manifest defines,
// dependencies first, under the bundle's hash (or a given version); again is a
// no-op; a blob that is not a bundle, or one the project does not hold, is refused.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { sha256 } from "../../kernel/index.js";
import { createTestBackend, type TestBackend } from "../../backend/index.js";
import { fixturesBundle } from "../engine/harness.js";

let backend: TestBackend;
beforeEach(async () => {
  backend = await createTestBackend();
  await backend.createProject("demo");
});
afterEach(async () => backend.close());

const base = "/projects/demo/domains/development";

describe("POST .../bundles/{hash}/register", () => {
  it("registers every entity, dependencies first, then finds them all identical", async () => {
    const bundle = fixturesBundle();
    expect((await backend.request(`/projects/demo/bundles/${bundle.hash}`, { method: "PUT", body: bundle.bytes() })).status).toBe(201);
    const res = await backend.request(`${base}/bundles/${bundle.hash}/register`, { method: "POST" });
    expect(res.status, await res.clone().text()).toBe(201);
    const first = (await res.json()) as { version: string; entities: { id: { resourceType: string; name: string }; status: string }[] };
    expect(first.version).toBe(bundle.hash);
    const { tasks, workflows, launchPlans } = bundle.manifest.specs;
    expect(first.entities).toHaveLength(tasks.length + workflows.length + launchPlans.length);
    expect(first.entities.every((e) => e.status === "created")).toBe(true);
    // A workflow launching a launch plan comes after it; the launch plan after its workflow.
    const at = (kind: string, name: string) => first.entities.findIndex((e) => e.id.resourceType === kind && e.id.name === name);
    expect(at("workflow", "inner")).toBeLessThan(at("launch_plan", "add_plan"));
    expect(at("launch_plan", "add_plan")).toBeLessThan(at("workflow", "parent"));

    const again = (await (await backend.request(`${base}/bundles/${bundle.hash}/register`, { method: "POST" })).json()) as typeof first;
    expect(again.entities.every((e) => e.status === "identical")).toBe(true);
    const v2 = await backend.request(`${base}/bundles/${bundle.hash}/register`, { method: "POST", json: { version: "v2" } });
    expect(((await v2.json()) as typeof first).entities.every((e) => e.status === "created")).toBe(true);
  });

  it("refuses a blob that is not a bundle, and one the project does not hold", async () => {
    const bytes = Buffer.from("not a bundle");
    await backend.request(`/projects/demo/bundles/${sha256(bytes)}`, { method: "PUT", body: bytes });
    const bad = await backend.request(`${base}/bundles/${sha256(bytes)}/register`, { method: "POST" });
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain("cannot be read: not a bundle");
    const missing = await backend.request(`${base}/bundles/${sha256(Buffer.from("x"))}/register`, { method: "POST" });
    expect(missing.status).toBe(404);
    expect(await backend.store.counts()).toMatchObject({ entities: 0 });
  });
});
