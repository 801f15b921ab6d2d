/**
 * `npm start`: runs the example pipeline twice against a fresh local cache (the
 * first run computes every node, the second is served from the cache), then
 * starts the backend on embedded defaults, registers the same pipeline from its
 * bundle, runs it there (every task in its own process) and shows that it gives
 * the local run's output hashes. The backend keeps serving until Ctrl-C.
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describeServer, loadLiterals, startServer, type RunningServer } from "../../backend/index.js";
import { buildBundle, literalHash, type LiteralMap, type RunEvent } from "../../kernel/index.js";
import { training } from "./training.js";

const cacheDir = mkdtempSync(join(tmpdir(), "petrel-start-"));
/** The pipeline's source, which the bundle is built from (this file runs from dist/). */
const SOURCE = fileURLToPath(new URL("../../../notebooks/examples/training.ts", import.meta.url));

function progress(event: RunEvent): void {
  if (event.type === "node-finished") {
    const n = event.node;
    process.stdout.write(`  ${n.phase === "SUCCEEDED" ? "✓" : "✗"} ${n.id.padEnd(12)} ${(n.kind === "task" || n.kind === "map" ? n.cache.status : "").padEnd(9)} ${(n.durationMs ?? 0).toFixed(1)} ms\n`);
  } else if (event.type === "attempt-failed") {
    process.stdout.write(`  ! ${event.node.id} attempt ${event.attempt.attempt} failed, retrying in ${event.retryInMs} ms\n`);
  }
}

let localOutputs: LiteralMap = {};
for (const label of ["first run (cold cache)", "second run (warm cache)"]) {
  console.log(`\n▶ training, ${label}`);
  const run = await training.run({}, { cacheDir, onEvent: progress });
  console.log(`\n${String(run)}\n`);
  const model = JSON.parse(readFileSync(run.outputs.model, "utf8")) as { feature: string; accuracy: number };
  console.log(`best feature: ${run.outputs.best} (accuracy ${model.accuracy}); churn by region: ${JSON.stringify(run.outputs.churnByRegion)}`);
  localOutputs = run.record.outputs ?? {};
}
console.log(`\ncache: ${cacheDir}`);

/** Calls the server's API as its admin. */
async function api<T>(server: RunningServer, path: string, init: { method?: string; json?: unknown; body?: Uint8Array } = {}): Promise<T> {
  const headers: Record<string, string> = { authorization: `Bearer ${server.adminToken}` };
  if (init.json !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(`${server.url}/api/v1${path}`, {
    method: init.method ?? "GET",
    headers,
    ...(init.json !== undefined ? { body: JSON.stringify(init.json) } : init.body ? { body: init.body } : {}),
  });
  const text = await res.text();
  if (!res.ok && res.status !== 409) throw new Error(`${init.method ?? "GET"} ${path}: ${res.status} ${text}`);
  return JSON.parse(text) as T;
}

console.log("\n▶ the backend: the same pipeline from its bundle, every task in its own process");
const server = await startServer();
const bundle = buildBundle([training], { entry: SOURCE });
await api(server, "/projects", { method: "POST", json: { name: "demo", description: "npm start" } });
await api(server, `/projects/demo/bundles/${bundle.hash}`, { method: "PUT", body: bundle.bytes() });
const registered = await api<{ entities: unknown[] }>(server, `/projects/demo/domains/development/bundles/${bundle.hash}/register`, { method: "POST" });
console.log(`  registered ${registered.entities.length} entities from bundle ${bundle.hash.slice(0, 19)}…`);
const created = await api<{ name: string }>(server, "/projects/demo/domains/development/executions", { method: "POST", json: { workflow: { name: "training" } } });
const key = { project: "demo", domain: "development", name: created.name };
const started = Date.now();
const done = await server.engine!.wait(key);
const nodes = await server.store.listNodeExecutions(key);
for (const n of nodes) {
  const span = n.startedAt !== undefined && n.endedAt !== undefined ? `${n.endedAt - n.startedAt} ms` : "";
  console.log(`  ${n.phase === "SUCCEEDED" ? "✓" : "✗"} ${n.nodeId.padEnd(12)} ${(n.cache?.status ?? "").padEnd(9)} ${String(n.attempts).padStart(2)} attempt(s) ${span}`);
}
const remoteOutputs = done.outputs ? await loadLiterals(server.deps, done.outputs) : {};
const same = Object.keys(localOutputs).every((k) => remoteOutputs[k] !== undefined && literalHash(remoteOutputs[k]) === literalHash(localOutputs[k]!));
console.log(`\nexecution ${created.name}: ${done.phase} in ${Date.now() - started} ms; outputs ${same ? "have the local run's hashes ✓" : "DIFFER from the local run ✗"}`);
console.log(`\n${describeServer(server)}\n\nCtrl-C stops the server.`);

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    server.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}
