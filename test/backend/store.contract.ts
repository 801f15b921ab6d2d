// The MetadataStore contract: every implementation (SQLite, PostgreSQL) runs
// this same suite through its own test file, which supplies how to open a fresh
// store and a second connection to the same database.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { MIGRATIONS, createManualClock, isStoreError, type ManualClock, type MetadataStore } from "../../backend/index.js";
import { addTask, entity, execution, identifier, int, nightlyPlan, pipelineWorkflow } from "./fixtures.js";

/** How a contract run opens stores: `fresh` makes an empty database, `reopen` connects again to the last one. */
export interface StoreHarness {
  fresh(clock: ManualClock): Promise<MetadataStore>;
  reopen(clock: ManualClock): Promise<MetadataStore>;
}

const project = (name: string, at = 1_000) => ({ name, description: "", labels: { team: "ml" }, createdAt: at, createdBy: "tester" });

export function metadataStoreContract(name: string, harness: () => StoreHarness): void {
  describe(`MetadataStore contract: ${name}`, () => {
    let store: MetadataStore;
    let clock: ManualClock;
    const extra: MetadataStore[] = [];

    beforeEach(async () => {
      clock = createManualClock("2025-01-01T00:00:00Z");
      store = await harness().fresh(clock);
      await store.createProject(project("alpha"));
      await store.createProject(project("beta"));
    });
    afterEach(async () => {
      for (const s of extra.splice(0)) await s.close();
      await store.close();
    });

    describe("schema", () => {
      it("migrates a new database to the latest version and leaves a migrated one alone", async () => {
        expect(await store.schemaVersion()).toBe(MIGRATIONS[MIGRATIONS.length - 1]!.version);
        const again = await harness().reopen(clock);
        extra.push(again);
        expect(await again.schemaVersion()).toBe(MIGRATIONS[MIGRATIONS.length - 1]!.version);
        expect((await again.getProject("alpha"))?.labels).toEqual({ team: "ml" });
      });

      it("counts rows per table", async () => {
        const counts = await store.counts();
        expect(counts.projects).toBe(2);
        expect(counts.entities).toBe(0);
      });
    });

    describe("projects and blobs", () => {
      it("creates a project once; a second create with the name changes nothing", async () => {
        expect(await store.createProject({ ...project("alpha"), description: "other" })).toBe(false);
        expect((await store.getProject("alpha"))?.description).toBe("");
        expect(await store.getProject("gamma")).toBeUndefined();
      });

      it("lists all projects, or only the named ones, by name", async () => {
        expect((await store.listProjects()).map((p) => p.name)).toEqual(["alpha", "beta"]);
        expect((await store.listProjects(["beta", "zeta"])).map((p) => p.name)).toEqual(["beta"]);
        expect(await store.listProjects([])).toEqual([]);
      });

      it("records a project's claim on a blob once, per project", async () => {
        const hash = `sha256:${"a".repeat(64)}`;
        const claim = { project: "alpha", hash, size: 5, kind: "bundle" as const, createdAt: 1, createdBy: "tester" };
        await store.addProjectBlob(claim);
        await store.addProjectBlob({ ...claim, kind: "data", size: 99 });
        expect(await store.getProjectBlob("alpha", hash)).toEqual(claim);
        expect(await store.getProjectBlob("beta", hash)).toBeUndefined();
      });
    });

    describe("entities", () => {
      const id = identifier("task", "alpha", "add", "v1");

      it("stores a version, reports identical content as identical and different content as a conflict", async () => {
        const created = await store.registerEntity({ ...entity(id, addTask(), "sha256:aaa"), references: [identifier("task", "alpha", "x", "1")] });
        expect(created.status).toBe("created");
        const same = await store.registerEntity(entity(id, addTask(), "sha256:aaa"));
        expect(same).toMatchObject({ status: "identical", record: { digest: "sha256:aaa" } });
        const other = await store.registerEntity(entity(id, addTask({ retries: 3 }), "sha256:bbb"));
        expect(other).toMatchObject({ status: "conflict", existing: { digest: "sha256:aaa", spec: { retries: 0 } } });
        const stored = await store.getEntity(id);
        expect(stored).toMatchObject({ id, spec: addTask(), references: [identifier("task", "alpha", "x", "1")], active: false });
        expect((await store.counts()).entities).toBe(1);
      });

      it("keeps bundle and promotion records", async () => {
        const prod = { ...id, domain: "production" };
        await store.registerEntity({ ...entity(prod, addTask()), bundle: `sha256:${"b".repeat(64)}`, promotedFrom: { fromDomain: "development", by: "ana", at: 5 } });
        expect(await store.getEntity(prod)).toMatchObject({ bundle: `sha256:${"b".repeat(64)}`, promotedFrom: { fromDomain: "development", by: "ana", at: 5 } });
        await store.recordPromotion({ id: prod, fromDomain: "development", by: "ana", at: 5 });
        expect(await store.listPromotions("alpha")).toEqual([{ id: prod, fromDomain: "development", by: "ana", at: 5 }]);
        expect(await store.listPromotions("alpha", "other")).toEqual([]);
      });

      it("lists versions newest first, a page at a time, and names with their latest version", async () => {
        for (let i = 1; i <= 5; i++) await store.registerEntity(entity({ ...id, version: `v${i}` }, addTask(), `d${i}`, i));
        await store.registerEntity(entity(identifier("task", "alpha", "mul", "v1"), addTask({ name: "mul" })));
        await store.registerEntity(entity(identifier("task", "beta", "hidden", "v1"), addTask({ name: "hidden" })));
        expect((await store.latestEntity("task", "alpha", "development", "add"))?.id.version).toBe("v5");
        const first = await store.listEntityVersions("task", "alpha", "development", "add", { limit: 2 });
        expect(first.items.map((e) => e.id.version)).toEqual(["v5", "v4"]);
        const second = await store.listEntityVersions("task", "alpha", "development", "add", { limit: 2, cursor: first.next! });
        const third = await store.listEntityVersions("task", "alpha", "development", "add", { limit: 2, cursor: second.next! });
        expect([...second.items, ...third.items].map((e) => e.id.version)).toEqual(["v3", "v2", "v1"]);
        expect(third.next).toBeUndefined();
        const names = await store.listEntityNames("task", "alpha", "development", { limit: 10 });
        expect(names.items).toEqual([
          { name: "add", latestVersion: "v5", versions: 5, updatedAt: 5 },
          { name: "mul", latestVersion: "v1", versions: 1, updatedAt: 1_000 },
        ]);
        const paged = await store.listEntityNames("task", "alpha", "development", { limit: 1 });
        expect(paged.items.map((n) => n.name)).toEqual(["add"]);
        expect((await store.listEntityNames("task", "alpha", "development", { limit: 1, cursor: paged.next! })).items.map((n) => n.name)).toEqual(["mul"]);
      });

      it("rejects a cursor it did not make", async () => {
        const error = await store.listEntityVersions("task", "alpha", "development", "add", { limit: 2, cursor: "nonsense" }).catch((e: unknown) => e);
        expect(isStoreError(error) && error.code).toBe("STORE_BAD_CURSOR");
      });
    });

    describe("launch plans", () => {
      const lp = (version: string) => identifier("launch_plan", "alpha", "nightly", version);

      beforeEach(async () => {
        for (const v of ["v1", "v2", "v3"]) await store.registerEntity(entity(lp(v), nightlyPlan()));
      });

      it("keeps at most one active version per name and reports the one it replaced", async () => {
        expect(await store.setLaunchPlanActive(lp("v1"), true)).toEqual({ previous: null });
        expect(await store.setLaunchPlanActive(lp("v2"), true)).toEqual({ previous: "v1" });
        expect((await store.getActiveLaunchPlan("alpha", "development", "nightly"))?.id.version).toBe("v2");
        expect((await store.getEntity(lp("v1")))?.active).toBe(false);
        expect(await store.setLaunchPlanActive(lp("v2"), false)).toEqual({ previous: "v2" });
        expect(await store.getActiveLaunchPlan("alpha", "development", "nightly")).toBeUndefined();
        expect(await store.setLaunchPlanActive(lp("v9"), true)).toBeUndefined();
      });

      it("ends with exactly one active version after concurrent activations", async () => {
        await Promise.all(["v1", "v2", "v3", "v1", "v2", "v3"].map((v) => store.setLaunchPlanActive(lp(v), true)));
        const active = await store.listActiveLaunchPlans();
        expect(active).toHaveLength(1);
      });
    });

    describe("schedules", () => {
      const lp = (version: string, project = "alpha", domain = "development") => identifier("launch_plan", project, "nightly", version, domain);
      const key = { project: "alpha", domain: "development", launchPlan: "nightly" };
      const HOUR = 3_600_000;

      beforeEach(async () => {
        for (const v of ["v1", "v2"]) await store.registerEntity(entity(lp(v), nightlyPlan()));
      });

      it("anchors the schedule when a version becomes active, keeps its last tick across versions, and leaves deactivation alone", async () => {
        const t0 = clock.now();
        expect(await store.getScheduleState(key)).toBeUndefined();
        await store.setLaunchPlanActive(lp("v1"), true);
        expect(await store.getScheduleState(key)).toEqual({ ...key, version: "v1", anchor: t0, lastTick: t0, updatedAt: t0 });

        // The scheduler moves the last tick forward only.
        expect(await store.advanceScheduleState(key, t0 + HOUR, t0)).toBe(true);
        expect(await store.advanceScheduleState(key, t0 + HOUR, t0)).toBe(false);
        expect(await store.advanceScheduleState(key, t0 + 1, t0)).toBe(false);
        expect(await store.advanceScheduleState({ ...key, launchPlan: "ghost" }, t0 + HOUR, t0)).toBe(false);

        // A new version re-anchors; the tick already considered stays considered.
        clock.advance(60_000);
        await store.setLaunchPlanActive(lp("v2"), true);
        expect(await store.getScheduleState(key)).toMatchObject({ version: "v2", anchor: t0 + 60_000, lastTick: t0 + HOUR });
        // Activating the active version again changes nothing; deactivating leaves the state as it was.
        clock.advance(60_000);
        await store.setLaunchPlanActive(lp("v2"), true);
        await store.setLaunchPlanActive(lp("v2"), false);
        expect(await store.getScheduleState(key)).toMatchObject({ version: "v2", anchor: t0 + 60_000, lastTick: t0 + HOUR, updatedAt: t0 + 60_000 });

        // Activated again after a while: ticks of the inactive time are not due.
        clock.advance(3 * HOUR);
        await store.setLaunchPlanActive(lp("v1"), true);
        expect(await store.getScheduleState(key)).toMatchObject({ version: "v1", anchor: clock.now(), lastTick: clock.now() });
      });

      it("ensures a state for a version once, and re-anchors it for another version", async () => {
        const t0 = clock.now();
        expect(await store.ensureScheduleState(key, "v1", t0)).toEqual({ ...key, version: "v1", anchor: t0, lastTick: t0, updatedAt: t0 });
        await store.advanceScheduleState(key, t0 + HOUR, t0);
        expect(await store.ensureScheduleState(key, "v1", t0 + 10)).toMatchObject({ version: "v1", anchor: t0, lastTick: t0 + HOUR });
        expect(await store.ensureScheduleState(key, "v2", t0 + 2 * HOUR)).toMatchObject({ version: "v2", anchor: t0 + 2 * HOUR, lastTick: t0 + 2 * HOUR });
        expect(await store.getScheduleState({ ...key, domain: "staging" })).toBeUndefined();
      });

      it("keeps the first recorded outcome of a tick, even when many record it at once", async () => {
        const run = { ...key, tick: 5 * HOUR, version: "v1", outcome: "fired" as const, execution: "s-1", recordedAt: 1 };
        const claims = await Promise.all(
          Array.from({ length: 8 }, (_, i) =>
            store.claimScheduleRun(i % 2 === 0 ? { ...run, recordedAt: i } : { ...key, tick: run.tick, version: "v2", outcome: "skipped", reason: "busy", recordedAt: i }),
          ),
        );
        expect(claims.filter((c) => c.claimed)).toHaveLength(1);
        const winner = claims.find((c) => c.claimed)!.run;
        for (const c of claims) expect(c.run).toEqual(winner);
        expect(await store.updateScheduleRun(key, run.tick, { outcome: "failed", reason: "no such input" })).toBe(true);
        expect(await store.updateScheduleRun(key, 7, { outcome: "failed" })).toBe(false);
        expect((await store.listScheduleRuns(key, { limit: 10 })).items).toEqual([{ ...winner, outcome: "failed", reason: "no such input" }]);
        expect((await store.counts()).schedule_runs).toBe(1);
      });

      it("lists recorded ticks newest first, a page at a time, per launch plan", async () => {
        for (let h = 1; h <= 5; h++) await store.claimScheduleRun({ ...key, tick: h * HOUR, version: "v1", outcome: h % 2 ? "fired" : "missed", recordedAt: h });
        await store.claimScheduleRun({ ...key, launchPlan: "other", tick: HOUR, version: "v1", outcome: "fired", recordedAt: 1 });
        const first = await store.listScheduleRuns(key, { limit: 2 });
        expect(first.items.map((r) => r.tick / HOUR)).toEqual([5, 4]);
        expect(first.items[1]).toEqual({ ...key, tick: 4 * HOUR, version: "v1", outcome: "missed", recordedAt: 4 });
        const rest = await store.listScheduleRuns(key, { limit: 10, cursor: first.next! });
        expect(rest.items.map((r) => r.tick / HOUR)).toEqual([3, 2, 1]);
        expect(rest.next).toBeUndefined();
      });

      it("lists the active launch plans of one project and domain", async () => {
        await store.registerEntity(entity(lp("v1", "beta"), nightlyPlan()));
        await store.registerEntity(entity(lp("v1", "alpha", "staging"), nightlyPlan()));
        for (const id of [lp("v2"), lp("v1", "beta"), lp("v1", "alpha", "staging")]) await store.setLaunchPlanActive(id, true);
        const ids = (records: { id: { project: string; domain: string; version: string } }[]) => records.map((r) => `${r.id.project}/${r.id.domain}@${r.id.version}`);
        expect(ids(await store.listActiveLaunchPlans())).toEqual(["alpha/development@v2", "beta/development@v1", "alpha/staging@v1"]);
        expect(ids(await store.listActiveLaunchPlans({ project: "alpha" }))).toEqual(["alpha/development@v2", "alpha/staging@v1"]);
        expect(ids(await store.listActiveLaunchPlans({ project: "alpha", domain: "staging" }))).toEqual(["alpha/staging@v1"]);
      });
    });

    describe("executions", () => {
      it("creates an execution once per name and reads it back whole", async () => {
        const e = execution("alpha", "e1", 100, {
          launchPlan: identifier("launch_plan", "alpha", "nightly", "v1"),
          labels: { team: "ml", run: "a" },
          maxParallelism: 4,
        });
        const created = await store.createExecution(e);
        expect(created?.seq).toBeGreaterThan(0);
        expect(await store.createExecution({ ...e, labels: {} })).toBeUndefined();
        expect(await store.getExecution(e.key)).toEqual(created);
        expect(await store.getExecution({ ...e.key, domain: "staging" })).toBeUndefined();
      });

      it("filters by phase, workflow, launch plan, labels and creation time", async () => {
        await store.createExecution(execution("alpha", "a", 100, { labels: { team: "ml" } }));
        await store.createExecution(execution("alpha", "b", 200, { phase: "RUNNING", labels: { team: "ml", tier: "gold" } }));
        await store.createExecution(
          execution("alpha", "c", 300, { launchPlan: identifier("launch_plan", "alpha", "nightly", "v1"), workflow: identifier("workflow", "alpha", "other", "v1") }),
        );
        await store.createExecution(execution("beta", "d", 400));
        const names = async (filter: Parameters<MetadataStore["listExecutions"]>[0]) => (await store.listExecutions(filter, { limit: 10 })).items.map((e) => e.key.name);
        expect(await names({ project: "alpha" })).toEqual(["c", "b", "a"]);
        expect(await names({ project: "alpha", phases: ["RUNNING"] })).toEqual(["b"]);
        expect(await names({ project: "alpha", workflow: "pipeline" })).toEqual(["b", "a"]);
        expect(await names({ project: "alpha", launchPlan: "nightly" })).toEqual(["c"]);
        expect(await names({ project: "alpha", labels: [{ key: "team", value: "ml" }] })).toEqual(["b", "a"]);
        expect(await names({ project: "alpha", labels: [{ key: "team", value: "ml" }, { key: "tier" }] })).toEqual(["b"]);
        expect(await names({ project: "alpha", createdAfter: 200, createdBefore: 300 })).toEqual(["b"]);
        expect(await names({ project: "alpha", domain: "staging" })).toEqual([]);
      });

      it("pages newest first without repeats or gaps while new executions arrive", async () => {
        for (let i = 0; i < 10; i++) await store.createExecution(execution("alpha", `old${i}`, i));
        const seen: string[] = [];
        let cursor: string | undefined;
        let n = 0;
        do {
          const page = await store.listExecutions({ project: "alpha" }, { limit: 3, ...(cursor ? { cursor } : {}) });
          seen.push(...page.items.map((e) => e.key.name));
          cursor = page.next;
          await store.createExecution(execution("alpha", `new${n++}`, 1_000 + n));
        } while (cursor);
        expect(seen).toEqual(Array.from({ length: 10 }, (_, i) => `old${9 - i}`));
      });

      it("updates only when the phase matches, and says so", async () => {
        const e = execution("alpha", "e1", 100);
        await store.createExecution(e);
        const aborted = await store.updateExecution(e.key, { phase: "ABORTED", abort: { cause: "stop", by: "ana", at: 150 }, endedAt: 150, updatedAt: 150 }, ["QUEUED", "RUNNING"]);
        expect(aborted).toMatchObject({ updated: true, record: { phase: "ABORTED", abort: { cause: "stop" }, endedAt: 150, updatedAt: 150 } });
        const again = await store.updateExecution(e.key, { phase: "RUNNING", updatedAt: 160 }, ["QUEUED", "RUNNING"]);
        expect(again).toMatchObject({ updated: false, record: { phase: "ABORTED", updatedAt: 150 } });
        expect(await store.updateExecution({ ...e.key, name: "nope" }, { updatedAt: 1 })).toBeUndefined();
      });
    });

    describe("nodes and attempts", () => {
      const key = { project: "alpha", domain: "development", name: "e1" };

      it("stores, replaces and lists node records and attempts of an execution", async () => {
        expect(await store.putNodeExecution({ execution: key, nodeId: "add", phase: "QUEUED", attempts: 0, createdAt: 1, updatedAt: 1 })).toBe(false);
        await store.createExecution(execution("alpha", "e1", 1));
        const node = {
          execution: key,
          nodeId: "add",
          phase: "RUNNING" as const,
          inputs: { inline: { a: int(1) } },
          attempts: 1,
          cache: { status: "MISS" as const, reason: "no entry" },
          createdAt: 2,
          updatedAt: 2,
          startedAt: 2,
        };
        expect(await store.putNodeExecution(node)).toBe(true);
        await store.putNodeExecution({ ...node, phase: "SUCCEEDED", outputs: { blob: { hash: `sha256:${"c".repeat(64)}`, size: 10 } }, updatedAt: 3, endedAt: 3 });
        await store.putNodeExecution({ execution: key, nodeId: "other", phase: "QUEUED", attempts: 0, createdAt: 4, updatedAt: 4 });
        expect(await store.getNodeExecution(key, "add")).toEqual({
          ...node,
          phase: "SUCCEEDED",
          outputs: { blob: { hash: `sha256:${"c".repeat(64)}`, size: 10 } },
          updatedAt: 3,
          endedAt: 3,
        });
        expect((await store.listNodeExecutions(key)).map((n) => n.nodeId)).toEqual(["add", "other"]);
        const failure = { kind: "user" as const, code: "E", message: "boom", retryable: true };
        await store.putNodeAttempt({ execution: key, nodeId: "add", attempt: 1, phase: "SUCCEEDED", updatedAt: 6 });
        await store.putNodeAttempt({ execution: key, nodeId: "add", attempt: 0, phase: "RUNNING", updatedAt: 4 });
        await store.putNodeAttempt({ execution: key, nodeId: "add", attempt: 0, phase: "FAILED", error: failure, logs: { stdout: "/logs/0" }, updatedAt: 5 });
        expect(await store.listNodeAttempts(key, "add")).toEqual([
          { execution: key, nodeId: "add", attempt: 0, phase: "FAILED", error: failure, logs: { stdout: "/logs/0" }, updatedAt: 5 },
          { execution: key, nodeId: "add", attempt: 1, phase: "SUCCEEDED", updatedAt: 6 },
        ]);
      });
    });

    describe("tokens", () => {
      it("authenticates a token by its secret and stores only a hash of it", async () => {
        const { token, record } = await store.createToken({ name: "ana", kind: "user", grants: [{ project: "alpha", role: "editor", domains: ["development"] }], createdBy: "admin" });
        expect(token).toMatch(/^petrel_/);
        expect(await store.authenticate(token)).toEqual(record);
        expect(await store.authenticate(`${token}x`)).toBeUndefined();
        expect(JSON.stringify(await store.getToken(record.id))).not.toContain(token);
      });

      it("stops authenticating revoked and expired tokens", async () => {
        const a = await store.createToken({ name: "a", kind: "user", createdBy: "admin" });
        expect(await store.revokeToken(a.record.id)).toBe(true);
        expect(await store.authenticate(a.token)).toBeUndefined();
        expect(await store.revokeToken("tok_missing")).toBe(false);
        const b = await store.createToken({ name: "b", kind: "user", createdBy: "admin", expiresAt: clock.now() + 1_000 });
        expect(await store.authenticate(b.token)).toBeDefined();
        clock.advance(1_000);
        expect(await store.authenticate(b.token)).toBeUndefined();
      });

      it("mints node tokens scoped to one node, expiring after their lifetime", async () => {
        const { token } = await store.createNodeToken({ execution: { project: "alpha", domain: "development", name: "e1" }, node: "add", ttlMs: 60_000 });
        expect(await store.authenticate(token)).toMatchObject({ kind: "node", grants: [], scope: { project: "alpha", domain: "development", execution: "e1", node: "add" } });
        clock.advance(60_000);
        expect(await store.authenticate(token)).toBeUndefined();
      });

      it("registers a chosen secret once and rotates earlier tokens of the same name", async () => {
        const first = await store.createToken({ name: "admin", kind: "admin", secret: "petrel_admin_first_secret", createdBy: "server" });
        const again = await store.createToken({ name: "admin", kind: "admin", secret: "petrel_admin_first_secret", createdBy: "server" });
        expect(again.record.id).toBe(first.record.id);
        const second = await store.createToken({ name: "admin", kind: "admin", secret: "petrel_admin_second_secret", createdBy: "server" });
        expect(await store.revokeTokensNamed("admin", "admin", second.record.id)).toBe(1);
        expect(await store.authenticate(first.token)).toBeUndefined();
        expect(await store.authenticate(second.token)).toBeDefined();
      });
    });

    describe("transactions", () => {
      it("commits every write of a transaction together", async () => {
        await store.transaction(async (tx) => {
          await tx.createProject(project("gamma"));
          await tx.registerEntity(entity(identifier("workflow", "gamma", "pipeline", "v1"), pipelineWorkflow()));
        });
        expect(await store.getEntity(identifier("workflow", "gamma", "pipeline", "v1"))).toBeDefined();
      });

      it("rolls every write back when the transaction throws", async () => {
        const before = await store.counts();
        await expect(
          store.transaction(async (tx) => {
            await tx.createProject(project("gamma"));
            await tx.createExecution(execution("alpha", "e1", 1, { labels: { a: "b" } }));
            await tx.transaction(async (inner) => inner.registerEntity(entity(identifier("task", "alpha", "add", "v1"), addTask())));
            throw new Error("abort");
          }),
        ).rejects.toThrow("abort");
        expect(await store.counts()).toEqual(before);
        expect(await store.getProject("gamma")).toBeUndefined();
      });

      it("keeps concurrent transactions and plain writes apart", async () => {
        await Promise.all(
          Array.from({ length: 20 }, (_, i) =>
            i % 2 === 0
              ? store.transaction(async (tx) => {
                  await tx.createExecution(execution("alpha", `t${i}`, i, { labels: { i: String(i) } }));
                  if (i % 4 === 0) throw new Error("rolled back");
                }).catch(() => undefined)
              : store.createExecution(execution("alpha", `p${i}`, i)),
          ),
        );
        const names = (await store.listExecutions({ project: "alpha" }, { limit: 100 })).items.map((e) => e.key.name).sort();
        expect(names).toEqual(["p1", "p11", "p13", "p15", "p17", "p19", "p3", "p5", "p7", "p9", "t10", "t14", "t18", "t2", "t6"]);
        expect((await store.counts()).execution_labels).toBe(5);
      });
    });
  });
}
