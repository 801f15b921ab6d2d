/**
 * The kernelspec Jupyter finds the Petrel kernel by: `kernel.json` (how to start
 * it: this Node and the built CLI, so it works wherever a notebook lives) and logos,
 * written where `jupyter kernelspec install` would put them.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { logoPng } from "./logo.js";
import { defaultBudget } from "./tiering.js";

/** The kernelspec's default name (`jupyter console --kernel petrel`). */
export const KERNEL_NAME = "petrel";
/** What notebooks show as the kernel's name. */
export const DISPLAY_NAME = "TypeScript (Petrel)";

/** A kernel.json. */
export interface KernelSpec {
  argv: string[];
  display_name: string;
  language: string;
  interrupt_mode: "signal" | "message";
  env: Record<string, string>;
  metadata: Record<string, unknown>;
}

/** Where to install, as `jupyter kernelspec install` takes it. Default: the user's Jupyter data directory. */
export interface InstallOptions {
  /** The user's data directory ($JUPYTER_DATA_DIR, or ~/.local/share/jupyter and its platform equivalents). */
  user?: boolean;
  /** The sys.prefix of `python` (a virtualenv or conda environment). */
  sysPrefix?: boolean;
  /** `<prefix>/share/jupyter/kernels`. */
  prefix?: string;
  /** The Python whose sys.prefix `sysPrefix` uses (default python3). */
  python?: string;
  name?: string;
  displayName?: string;
}

/** The package's kernel entry (dist/cli/kernel.js: the kernel plus the remote client's magics), which `kernel.json` starts. */
const CLI = fileURLToPath(new URL("../../cli/kernel.js", import.meta.url));

/**
 * V8 flags for the kernel process, which compiles TypeScript for every cell: baseline
 * code and feedback for each function on its first call, so the compiler is fast from
 * the first cells on rather than after a few hundred. In three alternating runs of
 * bench/kernel.ts: trivial cell 4.6–5.4 ms against 5.0–5.8, function cell 9.7–13.5
 * against 12.4–15.8, RSS growth 0.11–0.14 MB per cell against 0.11–0.24.
 *
 * And no allocation-site pretenuring: V8 learns that a compile's objects live long
 * (each survives one collection, while the cell compiles) and allocates them in the
 * old generation, where, once dead, they keep young garbage alive until a full
 * collection. With typescript-load.ts's edits, 600 cells in process spent 110–140 ms
 * in scavenges with this flag and 580–610 ms without.
 */
const KERNEL_NODE_FLAGS: readonly string[] = ["--always-sparkplug", "--no-lazy-feedback-allocation", "--no-allocation-site-pretenuring"];

/**
 * V8's default interrupt budget, written out: the kernel compiles cells under a larger
 * one and runs them under this one, and a process cannot read a V8 flag (tiering.ts).
 */
function budgetFlags(): readonly string[] {
  // Asked once per process: it runs `node --v8-options` (about 0.1 s).
  if (!budgetFlagsOnce) {
    const budget = defaultBudget();
    budgetFlagsOnce = budget ? [`--interrupt-budget=${budget}`] : [];
  }
  return budgetFlagsOnce;
}
let budgetFlagsOnce: readonly string[] | undefined;

/**
 * The kernelspec. Interrupts are signals: a cell stuck in a synchronous loop never
 * lets the kernel read an interrupt message, but SIGINT stops it (tslab runs cells
 * with `breakOnSigint`).
 */
export function kernelSpec(displayName = DISPLAY_NAME): KernelSpec {
  return {
    argv: [process.execPath, ...KERNEL_NODE_FLAGS, ...budgetFlags(), CLI, "kernel", "--connection-file", "{connection_file}"],
    display_name: displayName,
    language: "typescript",
    interrupt_mode: "signal",
    env: {},
    metadata: { debugger: false },
  };
}

/** The `kernels` directory the options point at. */
export function kernelsDir(options: InstallOptions = {}): string {
  if (options.prefix !== undefined) return join(options.prefix, "share", "jupyter", "kernels");
  if (options.sysPrefix) {
    const python = options.python ?? "python3";
    const out = spawnSync(python, ["-c", "import sys; print(sys.prefix)"], { encoding: "utf8" });
    if (out.status !== 0 || !out.stdout.trim()) throw new Error(`cannot ask ${python} for its sys.prefix: ${out.error?.message ?? out.stderr.trim()}`);
    return join(out.stdout.trim(), "share", "jupyter", "kernels");
  }
  return join(userDataDir(), "kernels");
}

function userDataDir(): string {
  if (process.env.JUPYTER_DATA_DIR) return process.env.JUPYTER_DATA_DIR;
  if (process.platform === "darwin") return join(homedir(), "Library", "Jupyter");
  if (process.platform === "win32") return join(process.env.APPDATA ?? join(homedir(), "AppData", "Roaming"), "jupyter");
  return join(process.env.XDG_DATA_HOME || join(homedir(), ".local", "share"), "jupyter");
}

/** Writes the kernelspec; returns its directory. */
export function installKernelSpec(options: InstallOptions = {}): string {
  if ([options.user, options.sysPrefix, options.prefix !== undefined].filter(Boolean).length > 1) {
    throw new Error("choose one of --user, --sys-prefix and --prefix");
  }
  const dir = join(kernelsDir(options), options.name ?? KERNEL_NAME);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "kernel.json"), `${JSON.stringify(kernelSpec(options.displayName), null, 2)}\n`);
  for (const size of [32, 64]) writeFileSync(join(dir, `logo-${size}x${size}.png`), logoPng(size));
  return dir;
}
