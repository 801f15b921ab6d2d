/**
 * `npm start`: runs the example pipeline twice against a fresh local cache. The
 * first run computes every node; the second is served from the cache.
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { RunEvent } from "../../kernel/index.js";
import { training } from "./training.js";

const cacheDir = mkdtempSync(join(tmpdir(), "petrel-start-"));

function progress(event: RunEvent): void {
  if (event.type === "node-finished") {
    const n = event.node;
    process.stdout.write(`  ${n.phase === "SUCCEEDED" ? "✓" : "✗"} ${n.id.padEnd(12)} ${(n.kind === "task" || n.kind === "map" ? n.cache.status : "").padEnd(9)} ${(n.durationMs ?? 0).toFixed(1)} ms\n`);
  } else if (event.type === "attempt-failed") {
    process.stdout.write(`  ! ${event.node.id} attempt ${event.attempt.attempt} failed, retrying in ${event.retryInMs} ms\n`);
  }
}

for (const label of ["first run (cold cache)", "second run (warm cache)"]) {
  console.log(`\n▶ training, ${label}`);
  const run = await training.run({}, { cacheDir, onEvent: progress });
  console.log(`\n${String(run)}\n`);
  const model = JSON.parse(readFileSync(run.outputs.model, "utf8")) as { feature: string; accuracy: number };
  console.log(`best feature: ${run.outputs.best} (accuracy ${model.accuracy}); churn by region: ${JSON.stringify(run.outputs.churnByRegion)}`);
}
console.log(`\ncache: ${cacheDir}`);
