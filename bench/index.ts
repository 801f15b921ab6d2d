/**
 * Petrel's benchmarks against their peers (Dask, raw better-sqlite3, raw
 * apache-arrow, raw pg, a bare node:http server, local disk), each suite printing Petrel's figure, the peer's figure from
 * the same run, their ratio, the goal and PASS/MISS.
 *
 * @example
 * ```sh
 * npm run bench                                  # every suite (~5 min on 2 cores)
 * node dist/bench/index.js overhead              # one suite
 * node dist/bench/index.js cache build --quick   # fewer repetitions
 * # profile the engine without the Python peer, then list the hottest functions
 * # (no --expose-gc, so "(garbage collector)" holds only the GC the code causes):
 * PETREL_BENCH_NO_RESPAWN=1 node --cpu-prof --cpu-prof-dir=/tmp/petrel-prof dist/bench/index.js overhead --no-peer
 * node dist/bench/cpu-profile.js /tmp/petrel-prof/*.cpuprofile
 * ```
 *
 * Without --expose-gc, the entry re-spawns node with it (and a larger heap for
 * the 1e6-row danfo frames) so repetitions can be separated by a full GC.
 * PETREL_BENCH_NO_RESPAWN=1 turns that off.
 */
import { spawnSync } from "node:child_process";
import { cpus, loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { backendSuite } from "./backend.js";
import { buildSuite } from "./build.js";
import { cacheSuite } from "./cache.js";
import { dataframeSuite } from "./dataframe.js";
import { engineSuite } from "./engine.js";
import { k8sSuite } from "./k8s.js";
import { kernelSuite } from "./kernel.js";
import { gcExposed, renderTable, verdict, type BenchOptions, type Suite, type SuiteResult } from "./harness.js";
import { overheadSuite } from "./overhead.js";
import { remoteSuite } from "./remote.js";
import { runtimeSuite } from "./runtime.js";

/** Every suite, in the order a full run takes them. */
export const SUITES: readonly Suite[] = [overheadSuite, buildSuite, cacheSuite, dataframeSuite, backendSuite, engineSuite, kernelSuite, runtimeSuite, remoteSuite, k8sSuite];

/** Heap for the re-spawned process: a 1e6-row danfo frame holds ~1 GB, and two are alive at once. */
const HEAP_MB = 8192;
const RESPAWN_ENV = "PETREL_BENCH_CHILD";

function usage(): string {
  return `usage: node dist/bench/index.js [${SUITES.map((s) => s.name).join("|")} ...] [--quick] [--no-peer]`;
}

function parseArgs(argv: string[]): { suites: Suite[]; options: BenchOptions } {
  const options: BenchOptions = { peer: true, quick: false };
  const names: string[] = [];
  for (const arg of argv) {
    if (arg === "--quick") options.quick = true;
    else if (arg === "--no-peer") options.peer = false;
    else if (arg === "-h" || arg === "--help") {
      console.log(usage());
      process.exit(0);
    } else names.push(arg);
  }
  const suites = names.map((n) => {
    const s = SUITES.find((x) => x.name === n);
    if (!s) {
      console.error(`unknown suite ${JSON.stringify(n)}\n${usage()}`);
      process.exit(2);
    }
    return s;
  });
  return { suites: suites.length > 0 ? suites : [...SUITES], options };
}

/** Re-runs this file under --expose-gc; returns false when no re-spawn is needed. */
function respawnWithGc(): boolean {
  if (gcExposed() || process.env[RESPAWN_ENV] || process.env.PETREL_BENCH_NO_RESPAWN) return false;
  const args = [...process.execArgv, "--expose-gc", `--max-old-space-size=${HEAP_MB}`, fileURLToPath(import.meta.url), ...process.argv.slice(2)];
  const child = spawnSync(process.execPath, args, { stdio: "inherit", env: { ...process.env, [RESPAWN_ENV]: "1" } });
  process.exitCode = child.status ?? 1;
  return true;
}

async function main(): Promise<void> {
  if (respawnWithGc()) return;
  const { suites, options } = parseArgs(process.argv.slice(2));
  const started = performance.now();
  const cpu = cpus();
  console.log(
    `petrel bench: node ${process.version}, ${cpu.length} x ${cpu[0]?.model.trim() ?? "cpu"}, load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(" ")}, gc between reps: ${gcExposed() ? "yes" : "no (run node with --expose-gc)"}`,
  );
  const results: SuiteResult[] = [];
  for (const suite of suites) {
    process.stderr.write(`[bench] suite ${suite.name}\n`);
    const t0 = performance.now();
    const result = await suite.run(options);
    results.push(result);
    console.log(`\n${renderTable(result)}\n  (suite took ${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  }
  const misses = results.flatMap((r) => r.rows.filter((row) => verdict(row) === "MISS").map((row) => `${r.title.split(":")[0]}: ${row.metric}`));
  const goals = results.flatMap((r) => r.rows.filter((row) => verdict(row) !== ""));
  console.log(
    `\nsummary: ${goals.length - goals.filter((r) => verdict(r) === "MISS").length}/${goals.length} goal rows pass; total ${((performance.now() - started) / 1000).toFixed(0)} s; load average now ${loadavg()
      .map((l) => l.toFixed(2))
      .join(" ")}`,
  );
  for (const m of [...new Set(misses)]) console.log(`  MISS ${m}`);
}

await main();
