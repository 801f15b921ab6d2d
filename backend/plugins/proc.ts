/**
 * What Linux's /proc says about a process: resident memory, whether it still runs,
 * and whether it is the attempt a handle names (a pid alone can be reused).
 */
import { readdirSync, readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";

/** Resident set size in bytes (VmRSS), or undefined when the process is gone. */
export async function residentBytes(pid: number): Promise<number | undefined> {
  let status: string;
  try {
    status = await readFile(`/proc/${pid}/status`, "latin1");
  } catch {
    return undefined;
  }
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  return m ? Number(m[1]) * 1024 : undefined;
}

/** True while the process exists and is not a zombie waiting to be reaped. */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    // EPERM: it exists, owned by someone else.
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
    // Field 3, after the parenthesized command (which may itself hold spaces and parentheses).
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

/** True when the process's initial environment holds `name=value` exactly. */
export function hasEnvironment(pid: number, name: string, value: string): boolean {
  let environ: string;
  try {
    environ = readFileSync(`/proc/${pid}/environ`, "utf8");
  } catch {
    return false;
  }
  return environ.split("\0").includes(`${name}=${value}`);
}

/** Signals the process group led by `pid` (a detached child leads its own); false when it is gone. */
export function signalGroup(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    try {
      process.kill(pid, signal);
      return true;
    } catch {
      return false;
    }
  }
}

/**
 * The running process that leads its own process group and whose environment holds
 * `name=value` (a runtime's children inherit the variable but not the leadership).
 * Only this user's processes can be read.
 */
export function findGroupLeaderWithEnvironment(name: string, value: string): number | undefined {
  const needle = `${name}=${value}`;
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return undefined;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    let environ: string;
    try {
      environ = readFileSync(`/proc/${entry}/environ`, "utf8");
    } catch {
      continue;
    }
    if (!environ.includes(needle) || !environ.split("\0").includes(needle)) continue;
    const pid = Number(entry);
    if (groupOf(pid) === pid && isRunning(pid)) return pid;
  }
  return undefined;
}

/** The process group of a process (field 5 of /proc/<pid>/stat). */
function groupOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return Number(fields[2]);
  } catch {
    return undefined;
  }
}
