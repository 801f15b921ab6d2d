/**
 * Suite "kernel": the Petrel Jupyter kernel as a notebook user meets it, through
 * Debian's jupyter_client (bench/kernel_peer.py), beside tslab 1.0.22 and Debian's
 * ipykernel from the same run: start time (to the kernel_info reply, and to the first
 * cell's result), a trivial cell, a cell defining a 20-line function, and RSS growth
 * per declaring cell.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { PYTHON } from "./dask-peer.js";
import { DIRECTION, progress, type BenchOptions, type Row, type Suite, type SuiteResult } from "./harness.js";

interface KernelFigures {
  start_s: number;
  first_cell_s: number;
  trivial_ms: number;
  function_ms: number;
  rss_mb_per_cell: number;
  cells: number;
}

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

function figures(kernel: string, env: NodeJS.ProcessEnv, cells: number, reps: number): KernelFigures | string {
  progress("kernel", `timing ${kernel}`);
  const script = join(ROOT, "bench", "kernel_peer.py");
  const r = spawnSync(PYTHON, [script, kernel, "--cells", String(cells), "--reps", String(reps)], { env, encoding: "utf8", timeout: 600_000 });
  if (r.status !== 0) return (r.stderr || r.error?.message || "failed").trim().split("\n").slice(-1)[0]!;
  return JSON.parse(r.stdout.trim().split("\n").pop()!) as KernelFigures;
}

export const kernelSuite: Suite = {
  name: "kernel",
  title: "kernel: the Jupyter kernel under jupyter_client (start, cells, memory)",
  async run(options: BenchOptions): Promise<SuiteResult> {
    const prefix = mkdtempSync(join(tmpdir(), "petrel-bench-kernels-"));
    const cli = join(ROOT, "dist", "cli", "kernel.js");
    spawnSync(process.execPath, [cli, "kernel", "install", "--prefix", prefix], { stdio: "ignore" });
    spawnSync(process.execPath, [join(ROOT, "node_modules", "tslab", "bin", "tslab"), "install", "--prefix", prefix, "--binary", join(ROOT, "node_modules", ".bin", "tslab"), "--python", PYTHON], { stdio: "ignore" });
    const env = { ...process.env, JUPYTER_PATH: join(prefix, "share", "jupyter") };
    const cells = options.quick ? 60 : 300;
    const reps = options.quick ? 10 : 30;
    const petrel = figures("petrel", env, cells, reps);
    if (typeof petrel === "string") return { title: this.title, rows: [], notes: [`petrel kernel failed: ${petrel}`] };
    const peers: [string, KernelFigures | string][] = options.peer
      ? [["tslab 1.0.22", figures("tslab", env, cells, reps)], ["ipykernel (Debian)", figures("python3", env, cells, reps)]]
      : [];
    const rows: Row[] = [];
    const metrics: [keyof KernelFigures, string, string, number | undefined][] = [
      ["start_s", "kernel start", "s", 1.0],
      ["first_cell_s", "start to the first cell's result", "s", undefined],
      ["trivial_ms", "trivial cell (median)", "ms", 4],
      ["function_ms", "cell defining a 20-line function", "ms", 30],
      ["rss_mb_per_cell", `RSS growth per declaring cell (${cells} cells)`, "MB", 0.2],
    ];
    const notes: string[] = [];
    for (const [key, metric, unit, value] of metrics) {
      const goal = value === undefined ? {} : { goal: { value, direction: DIRECTION.lower } };
      if (peers.length === 0) rows.push({ metric, unit, petrel: petrel[key], ...goal });
      for (const [peerName, peer] of peers) {
        if (typeof peer === "string") continue;
        rows.push({ metric, unit, petrel: petrel[key], peerName, peer: peer[key], ...goal });
      }
    }
    for (const [peerName, peer] of peers) if (typeof peer === "string") notes.push(`${peerName} unavailable: ${peer}`);
    notes.push("times are round trips from Python's jupyter_client (execute_interactive), as a notebook front end sees them");
    return { title: this.title, rows, notes };
  },
};
