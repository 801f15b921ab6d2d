// Cursor pagination over 1,000 executions while new ones are being created:
// every execution that existed when paging began is seen exactly once, in
// creation order (newest first), and nothing repeats - on SQLite and PostgreSQL.
import { afterAll, describe, expect, it } from "vitest";
import { createPostgresStore, createTestBackend, type MetadataStore, type TestBackend } from "../../backend/index.js";
import { addTask, int, nightlyPlan, pipelineWorkflow } from "./fixtures.js";
import { dropSchemas, newSchema, POSTGRES_URL, postgresUnavailable } from "./postgres.js";

const SEEDED = 1_000;
const CONCURRENT = 300;
const PAGE = 37;
const dev = "/projects/demo/domains/development";

async function ok(res: Promise<Response>): Promise<Record<string, unknown>> {
  const r = await res;
  const body = (await r.json()) as Record<string, unknown>;
  if (r.status >= 300) throw new Error(`${r.status} ${JSON.stringify(body)}`);
  return body;
}

/** Creates executions `${prefix}0000...` with up to `parallel` requests in flight. */
async function createMany(backend: TestBackend, prefix: string, count: number, parallel: number): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      await ok(
        backend.request(`${dev}/executions`, {
          method: "POST",
          json: { name: `${prefix}${String(i).padStart(4, "0")}`, launchPlan: { name: "nightly" }, labels: { parity: i % 2 === 0 ? "even" : "odd" } },
        }),
      );
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
}

async function pageAll(backend: TestBackend, query: string): Promise<{ names: string[]; pages: number }> {
  const names: string[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const page = (await ok(backend.request(`${dev}/executions?limit=${PAGE}${query}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`))) as {
      items: { name: string }[];
      next?: string;
    };
    names.push(...page.items.map((e) => e.name));
    cursor = page.next;
    pages++;
  } while (cursor);
  return { names, pages };
}

async function paginationUnderInserts(store?: MetadataStore): Promise<void> {
  const backend = await createTestBackend(store ? { store } : {});
  try {
    await backend.createProject("demo");
    await ok(backend.request(`${dev}/tasks/add/versions/v1`, { method: "PUT", json: { spec: addTask() } }));
    await ok(backend.request(`${dev}/workflows/pipeline/versions/v1`, { method: "PUT", json: { spec: pipelineWorkflow() } }));
    await ok(backend.request(`${dev}/launch-plans/nightly/versions/v1`, { method: "PUT", json: { spec: nightlyPlan({ defaultInputs: { y: int(1) } }) } }));
    // Seeded through the store (fast); the executions created while paging go through the API.
    const plan = (await backend.store.getEntity({ resourceType: "launch_plan", project: "demo", domain: "development", name: "nightly", version: "v1" }))!;
    for (let i = 0; i < SEEDED; i += 50) {
      await Promise.all(
        Array.from({ length: Math.min(50, SEEDED - i) }, (_, j) => {
          const n = i + j;
          return backend.store.createExecution({
            key: { project: "demo", domain: "development", name: `s${String(n).padStart(4, "0")}` },
            workflow: plan.references[0]!,
            launchPlan: plan.id,
            phase: "QUEUED",
            mode: "launch",
            inputs: { inline: { x: int(10), y: int(1) } },
            labels: { parity: n % 2 === 0 ? "even" : "odd" },
            createdAt: n,
            createdBy: "seed",
            updatedAt: n,
          });
        }),
      );
    }
    // Creation order (requests ran in parallel, so it is not name order), straight from the store.
    const seeded = (await backend.store.listExecutions({ project: "demo" }, { limit: SEEDED })).items.map((e) => e.key.name);
    expect(seeded).toHaveLength(SEEDED);

    // Page through everything, and through a filtered view, while new executions keep arriving.
    const [all, odd] = await Promise.all([pageAll(backend, ""), pageAll(backend, "&label=parity=odd"), createMany(backend, "n", CONCURRENT, 2)]);

    expect(new Set(all.names).size).toBe(all.names.length);
    expect(all.names.filter((n) => n.startsWith("s"))).toEqual(seeded);
    // New executions can only show up before the first seeded one: they sort newer than every cursor.
    const firstSeeded = all.names.indexOf(seeded[0]!);
    expect(all.names.slice(firstSeeded)).toEqual(seeded);
    expect(all.pages).toBeGreaterThanOrEqual(Math.ceil(SEEDED / PAGE));
    expect(odd.names.filter((n) => n.startsWith("s"))).toEqual(seeded.filter((n) => Number(n.slice(1)) % 2 === 1));
    expect(new Set(odd.names).size).toBe(odd.names.length);

    const total = (await backend.store.counts()).executions;
    expect(total).toBe(SEEDED + CONCURRENT);
  } finally {
    await backend.close();
  }
}

describe("execution pagination", () => {
  it(`pages over ${SEEDED} executions without repeats or gaps while ${CONCURRENT} more are created (SQLite)`, async () => {
    await paginationUnderInserts();
  });
});

const pgUnavailable = await postgresUnavailable();
afterAll(dropSchemas);

describe.skipIf(pgUnavailable !== undefined)(`execution pagination on PostgreSQL${pgUnavailable ? ` — skipped: ${pgUnavailable}` : ""}`, () => {
  it(`pages over ${SEEDED} executions without repeats or gaps while ${CONCURRENT} more are created (PostgreSQL)`, async () => {
    await paginationUnderInserts(await createPostgresStore({ url: POSTGRES_URL, schema: newSchema() }));
  });
});
