// The example pipelines, registered from their bundles, run on the backend (each
// task in its own process) and give the same output hashes as their local runs:
// notebooks/examples/training.ts built from its file, and the fanout and churn
// notebooks built from their cells.
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  blobsOf,
  buildBundle,
  literalHash,
  openLocalStore,
  type AnyWorkflow,
  type Bundle,
  type LiteralMap,
  type NodeRecord,
  type RunRecord,
} from "../../kernel/index.js";
import { loadLiterals } from "../../backend/api/index.js";
import { training } from "../../notebooks/examples/training.js";
import { createNotebook, PROJECT_ROOT, type Notebook } from "../bundle/notebook.js";
import { DOMAIN, PROJECT, registerBundle, startEngineBackend, tempDir, type EngineBackend } from "./harness.js";

let eb: EngineBackend;
const dirs: string[] = [];
beforeAll(async () => {
  eb = await startEngineBackend({ noCatalog: true });
}, 60_000);
afterAll(async () => {
  await eb?.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const hashes = (map: LiteralMap) => Object.fromEntries(Object.entries(map).map(([k, v]) => [k, literalHash(v)]));

/** Every task node's output hashes in a local run record, by node id (map instances included). */
function localNodeHashes(record: RunRecord): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  const visit = (n: NodeRecord) => {
    if (n.kind === "task" && n.outputs) out[n.id] = hashes(n.outputs);
    for (const c of n.children ?? []) visit(c);
  };
  for (const n of Object.values(record.nodes)) visit(n);
  return out;
}

/** Uploads the blobs a local literal map refers to, so the backend can take it as inputs. */
async function uploadBlobs(inputs: LiteralMap, cacheDir: string): Promise<void> {
  const local = openLocalStore(cacheDir).blobs;
  for (const literal of Object.values(inputs)) {
    for (const ref of blobsOf(literal)) {
      const res = await eb.backend.request(`/projects/${PROJECT}/blobs/${ref.hash}`, { method: "PUT", body: local.get(ref) });
      expect(res.status, await res.clone().text()).toBeLessThan(300);
    }
  }
}

/** Registers the bundle, runs `workflow` on the backend with the local run's inputs, and compares output hashes. */
async function sameAsLocal(bundle: Bundle, workflow: string, local: RunRecord, cacheDir: string): Promise<void> {
  await registerBundle(eb.backend, PROJECT, DOMAIN, bundle);
  await uploadBlobs(local.inputs, cacheDir);
  const name = await eb.execute({ workflow }, local.inputs);
  const record = await eb.wait(name);
  expect(record.phase, JSON.stringify(record.error)).toBe("SUCCEEDED");
  expect(hashes(await eb.outputs(name))).toEqual(hashes(local.outputs!));
  const nodes = await eb.nodes(name);
  const remote = Object.fromEntries(
    await Promise.all(
      Object.keys(localNodeHashes(local)).map(async (id) => {
        const n = nodes[id];
        const outputs = n?.outputs ? await loadLiterals(eb.backend.deps, n.outputs) : {};
        return [id, hashes(outputs)] as const;
      }),
    ),
  );
  expect(remote).toEqual(localNodeHashes(local));
}

describe("the examples on the backend", () => {
  it("training.ts, bundled from its file, gives the local run's output hashes", async () => {
    const cacheDir = tempDir("petrel-examples-cache-");
    dirs.push(cacheDir);
    const local = await training.run({ rows: 2_000 }, { cacheDir });
    const bundle = buildBundle([training], { entry: join(PROJECT_ROOT, "notebooks", "examples", "training.ts") });
    await sameAsLocal(bundle, "training", local.record, cacheDir);
  }, 120_000);

  it("the fanout notebook, bundled from its cells, gives the local run's output hashes", async () => {
    const nb = await notebookFrom("fanout.ipynb", []);
    try {
      const wf = nb.locals.fanout as AnyWorkflow;
      const cacheDir = join(nb.dir, ".petrel");
      const local = await wf.run({ xs: Array.from({ length: 20 }, (_, i) => i + 1) }, { cacheDir });
      await sameAsLocal(buildBundle({ fanout: wf }, { sources: nb.cells }), "fanout", local.record, cacheDir);
    } finally {
      nb.close();
    }
  }, 120_000);

  it("the churn notebook, with a DataFrame input, gives the local run's output hashes", async () => {
    const nb = await notebookFrom("churn.ipynb", ["danfojs-node"]);
    try {
      const wf = nb.locals.churn as AnyWorkflow;
      const cacheDir = join(nb.dir, ".petrel");
      const local = await wf.run({ raw: nb.locals.customers }, { cacheDir });
      await sameAsLocal(buildBundle({ churn: wf }, { sources: nb.cells }), "churn", local.record, cacheDir);
    } finally {
      nb.close();
    }
  }, 180_000);
});

/** Runs a notebook's definition cells (not the ones that run workflows) in a test notebook. */
async function notebookFrom(file: string, packages: string[]): Promise<Notebook> {
  const nb = createNotebook({ packages });
  const cells = (JSON.parse(readFileSync(join(PROJECT_ROOT, "notebooks", file), "utf8")) as { cells: { cell_type: string; source: string[] | string }[] }).cells
    .filter((c) => c.cell_type === "code")
    .map((c) => (Array.isArray(c.source) ? c.source.join("") : c.source))
    .filter((src) => !/\.run\(/.test(src))
    .map((src) => src.replaceAll('"data/customers.csv"', JSON.stringify(join(PROJECT_ROOT, "notebooks", "data", "customers.csv"))));
  try {
    await nb.runAll(cells);
  } catch (e) {
    nb.close();
    throw e;
  }
  return nb;
}
