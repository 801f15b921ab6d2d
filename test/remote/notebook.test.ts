/**
 * The notebook flow end to end, as a user runs it: nbclient executes
 * notebooks/remote/remote.ipynb in the `petrel` kernel (started in the notebook's
 * folder) against a backend started here. The notebook defines tasks across
 * cells, runs them locally, `%petrel run-remote` runs them on the backend,
 * `remote.fetchExecution()` brings every node's outputs back (the notebook itself
 * checks they hash like the local run's), and `%petrel promote` sends the same
 * bundle to production, where an execution runs on it.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { APT_HINT, IN_CI, installKernel, jupyterAvailable, PROJECT_ROOT, PYTHON } from "../jupyter/jupyter-env.js";
import { PROJECT, startEngineBackend, type EngineBackend } from "../engine/harness.js";

const available = jupyterAvailable();
if (!available && !IN_CI) console.warn(`skipping the notebook e2e test: Jupyter's clients are missing (${APT_HINT})`);
const NOTEBOOK_DIR = join(PROJECT_ROOT, "notebooks", "remote");

interface Output {
  output_type: string;
  text?: string;
  data?: Record<string, string>;
  ename?: string;
  evalue?: string;
}
interface Cell {
  cell_type: string;
  source: string;
  outputs?: Output[];
}

describe.skipIf(!available && !IN_CI)("a notebook runs locally, on the backend, and is promoted", () => {
  let eb: EngineBackend;
  let out: string;

  beforeAll(async () => {
    eb = await startEngineBackend();
    out = mkdtempSync(join(tmpdir(), "petrel-nb-out-"));
  });
  afterAll(async () => {
    await eb?.close();
    if (!process.env.PETREL_KEEP_OUTPUT) rmSync(out, { recursive: true, force: true });
    else console.log(`executed notebook kept in ${out}`);
  });

  it("every cell runs; the remote outputs hash like the local ones; production runs the same bundle", async () => {
    const { env } = installKernel();
    const executed = join(out, "remote.ipynb");
    const result = await new Promise<{ code: number; output: string }>((resolve) => {
      execFile(
        PYTHON,
        [join(import.meta.dirname, "run_notebook.py"), join(NOTEBOOK_DIR, "remote.ipynb"), executed, NOTEBOOK_DIR],
        { env: { ...env, PETREL_ENDPOINT: eb.backend.url!, PETREL_TOKEN: eb.backend.adminToken, PETREL_PROJECT: PROJECT, PETREL_DOMAIN: "development" }, timeout: 240_000, maxBuffer: 64 << 20 },
        (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === "number" ? error.code : 1) : 0, output: `${stdout}${stderr}` }),
      );
    });
    expect(result.code, result.output).toBe(0);
    const cells = (JSON.parse(readFileSync(executed, "utf8")) as { cells: Cell[] }).cells.filter((c) => c.cell_type === "code");
    const text = (cell: Cell) => (cell.outputs ?? []).map((o) => o.text ?? o.data?.["text/plain"] ?? `${o.ename}: ${o.evalue}`).join("\n");
    const errors = cells.flatMap((c) => (c.outputs ?? []).filter((o) => o.output_type === "error"));
    expect(errors).toEqual([]);
    const bySource = (needle: string) => cells.find((c) => (Array.isArray(c.source) ? c.source.join("") : c.source).includes(needle))!;
    expect(text(bySource("%petrel connect"))).toMatch(/connected to http:\/\/127\.0\.0\.1:\d+ as admin \(project demo, domain development\)/);
    const runRemote = bySource("%petrel run-remote");
    expect(text(runRemote)).toMatch(/execution \S+ of sales: SUCCEEDED/);
    expect(JSON.stringify(runRemote.outputs)).toContain("<svg");
    expect(text(bySource("remote.fetchExecution"))).toMatch(/\d+ outputs, the same hashes as the local run/);
    expect(text(bySource("df.head(5"))).toMatch(/amount\s+country/);
    expect(text(bySource("%petrel promote"))).toMatch(/promoted sales@\S+ from development to production/);
    expect(text(bySource("prodRun"))).toMatch(/production ran \S+ on bundle sha256:/);

    // The backend agrees: the production execution ran the development version's bundle.
    const dev = await eb.backend.store.listExecutions({ project: PROJECT, domain: "development" }, { limit: 10 });
    const prod = await eb.backend.store.listExecutions({ project: PROJECT, domain: "production" }, { limit: 10 });
    expect(dev.items).toHaveLength(1);
    expect(prod.items).toHaveLength(1);
    const bundleOf = async (id: (typeof dev.items)[number]["workflow"]) => (await eb.backend.store.getEntity(id))!.bundle;
    expect(prod.items[0]!.phase).toBe("SUCCEEDED");
    expect(await bundleOf(prod.items[0]!.workflow)).toBe(await bundleOf(dev.items[0]!.workflow));
    expect(prod.items[0]!.workflow.version).toBe(dev.items[0]!.workflow.version);
  }, 300_000);
});
