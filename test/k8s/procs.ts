/**
 * Processes of the test cluster (etcd, kube-apiserver, kube-scheduler and the
 * pods the fake kubelet runs): each in its own process group, killed as a group,
 * and never outliving the test process. `stop()` is the normal path; an exit
 * hook and a watchdog shell (for a test process that is SIGKILLed) are the
 * safety nets. The watchdog kills every process whose working directory is
 * inside the cluster's directory, so every process the cluster starts runs there.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, existsSync, openSync, readFileSync } from "node:fs";

const groups = new Set<number>();
let hooked = false;

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

/** Remembers a process group so it dies with this process. */
export function trackGroup(pid: number): void {
  groups.add(pid);
  if (!hooked) {
    hooked = true;
    process.once("exit", () => {
      for (const g of groups) killGroup(g, "SIGKILL");
    });
  }
}

/** Forgets a process group once it has been reaped. */
export function untrackGroup(pid: number): void {
  groups.delete(pid);
}

/** A long-running process of the control plane, its output in a log file. */
export interface Daemon {
  name: string;
  child: ChildProcess;
  logPath: string;
  /** Resolves when the process has exited. */
  exited: Promise<void>;
  /** The last lines of its log, for error messages. */
  tail(lines?: number): string;
  /** SIGTERM, then SIGKILL after `graceMs` (0: SIGKILL at once); resolves when it has exited. */
  stop(graceMs?: number): Promise<void>;
}

/** Starts `bin args` in its own process group, stdout and stderr to `logPath`. */
export function startDaemon(name: string, bin: string, args: string[], options: { cwd: string; logPath: string; env?: NodeJS.ProcessEnv }): Daemon {
  const fd = openSync(options.logPath, "a");
  const child = spawn(bin, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ["ignore", fd, fd], detached: true });
  closeSync(fd);
  const pid = child.pid;
  if (pid !== undefined) trackGroup(pid);
  const exited = new Promise<void>((resolve) => {
    child.once("exit", () => resolve());
    child.once("error", () => resolve());
  }).then(() => {
    if (pid !== undefined) untrackGroup(pid);
  });
  const tail = (lines = 20) => (existsSync(options.logPath) ? readFileSync(options.logPath, "utf8").trimEnd().split("\n").slice(-lines).join("\n") : "");
  return {
    name,
    child,
    logPath: options.logPath,
    exited,
    tail,
    async stop(graceMs = 2000) {
      if (pid === undefined || child.exitCode !== null || child.signalCode !== null) return exited;
      killGroup(pid, graceMs > 0 ? "SIGTERM" : "SIGKILL");
      const timer = setTimeout(() => killGroup(pid, "SIGKILL"), graceMs);
      await exited;
      clearTimeout(timer);
      // whatever the leader left behind in its group
      killGroup(pid, "SIGKILL");
    },
  };
}

/**
 * A shell that waits for this process to end and then kills whatever still runs
 * with its working directory inside `dir`, and removes `dir`. For a test process
 * killed without running its exit hooks.
 */
export function startWatchdog(dir: string): ChildProcess {
  const script = `
while kill -0 "$1" 2>/dev/null; do sleep 1; done
for p in /proc/[0-9]*; do
  case "$(readlink "$p/cwd" 2>/dev/null)" in "$2"|"$2"/*) kill -9 "\${p#/proc/}" 2>/dev/null ;; esac
done
rm -rf "$2"
`;
  const child = spawn("sh", ["-c", script, "petrel-k8s-watchdog", String(process.pid), dir], { cwd: "/", stdio: "ignore", detached: true });
  child.unref();
  return child;
}
