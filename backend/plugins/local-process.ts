/**
 * The local-process runner: each attempt in its own `node` process running the
 * task runtime (kernel/runtime/main.js), or, in warm mode, on one of a few runtime
 * workers kept alive between attempts.
 *
 * Process mode. A runtime is spawned detached (its own process group) with its
 * stdout and stderr on the attempt's log file — an fd, not a pipe — so it outlives a
 * SIGKILLed backend and reports its outcome over HTTP once the backend is back
 * (its reports retry for 10 minutes). The runtime caps its own output (what goes
 * through process.stdout/stderr, console included); the runner's watchdog cuts a
 * file that still grows past the cap (native writes, subprocesses). The pid and the
 * log file go in the handle; after a restart, `reattach` checks that the pid still
 * runs *and* carries the attempt's PETREL_ATTEMPT_ID in its environment (a pid can
 * be reused) and watches it again.
 *
 * Admission. `launch` resolves as soon as the attempt is queued: its handle says
 * `id: "queued"` until it starts (then the pid). The queue admits in arrival order
 * while fewer than `maxConcurrentAttempts` run and the running attempts' CPU
 * requests fit in `cpus`. The queue is only in memory: after a restart, an attempt
 * that never started does not re-attach (the engine launches it again), and one
 * recorded as queued that had started is found by its marker in /proc.
 *
 * Memory. `resources.limits.mem` sets `--max-old-space-size` to 3/4 of the limit
 * (a JS-heavy task fails with V8's heap error) and a watchdog reads VmRSS every
 * `pollMs`, SIGKILLing the process group over the limit: exit reason `oom` naming
 * the limit and the resident set seen.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync } from "node:fs";
import { attemptId, RUNTIME_ENV, RUNTIME_EXIT, RUNTIME_OPTIONAL_ENV, type AttemptAssignment } from "../../kernel/runtime/index.js";
import type { RunnerHandle } from "../store/index.js";
import { Admission, type Ticket } from "./admission.js";
import { enforceLogCap, logPath, openLogForAppend, readLogFile, readLogTail } from "./logs.js";
import { compileRunnerOptions, type CompiledRunnerOptions, type LocalProcessRunnerOptions } from "./options.js";
import { findGroupLeaderWithEnvironment, hasEnvironment, isRunning, residentBytes, signalGroup } from "./proc.js";
import { cpuClaimOf, heapFlagOf, isHeapExhaustion, memoryLimit, memoryLimitOf, overLimitMessage, type MemoryLimit } from "./resources.js";
import type { AttemptExit, LaunchRequest, LogReadOptions, RunnerCapabilities, RunnerEvent, TaskRunner } from "./types.js";
import { WarmPool } from "./warm-pool.js";

/** The runner's kind, in handles and configuration. */
export const LOCAL_PROCESS_RUNNER = "local-process";
/** The id of a handle whose attempt waits for admission (no process yet). */
const QUEUED = "queued";
/** Bytes a log may grow past its cap (the runtime's tail and note, stray native writes) before the watchdog cuts it. */
const LOG_SLACK_BYTES = 1024 * 1024;
/** The log's size is checked every this many polls. */
const LOG_CHECK_EVERY = 5;
/** How much of a log's end an exit message quotes. */
const EXIT_TAIL_BYTES = 1_000;

/** An attempt this runner runs (or queues) in its own process. */
interface ProcessAttempt {
  id: string;
  assignment: AttemptAssignment;
  log: string;
  memory: MemoryLimit | undefined;
  cpu: number;
  /** Its claim on admission, from the moment it is queued. */
  ticket?: Ticket;
  pid?: number;
  /** Absent for a process re-attached after a restart (not our child). */
  child?: ChildProcess;
  startedAt?: string;
  /** Why the runner is stopping it, once it is. */
  stopping?: { reason: AttemptExit["reason"]; message: string };
  killTimer?: NodeJS.Timeout;
  ended: boolean;
}

/**
 * Creates the local-process runner.
 *
 * @example
 * ```ts
 * const runner = createLocalProcessRunner({ logDir: "/var/log/petrel", maxConcurrentAttempts: 8 });
 * const warm = createLocalProcessRunner({ warm: { workers: 2, blobRoot: "/var/lib/petrel/blobs" } });
 * runner.onEvent((event) => console.log(event.type, event.assignment.node));
 * const handle = await runner.launch({ assignment, task, inputs, endpoint, token: mintNodeToken });
 * ```
 */
export function createLocalProcessRunner(options: LocalProcessRunnerOptions = {}): TaskRunner {
  return new LocalProcessRunner(compileRunnerOptions(options));
}

class LocalProcessRunner implements TaskRunner {
  readonly kind = LOCAL_PROCESS_RUNNER;
  readonly capabilities: RunnerCapabilities;
  private listener: ((event: RunnerEvent) => void) | undefined;
  private readonly attempts = new Map<string, ProcessAttempt>();
  private readonly admission: Admission;
  private readonly warm: WarmPool | undefined;
  private poller: NodeJS.Timeout | undefined;
  private polling = false;
  private polls = 0;
  private closed = false;

  constructor(private readonly options: CompiledRunnerOptions) {
    this.admission = new Admission(options.maxConcurrentAttempts, options.cpus);
    this.capabilities = options.warm
      ? { reattach: false, memoryLimits: true, reportsOutcomes: true }
      : { reattach: true, memoryLimits: true, reportsOutcomes: false };
    if (options.warm) {
      this.warm = new WarmPool(options, options.warm, (event) => this.emit(event));
      this.warm.start();
      this.startPoller();
    }
  }

  onEvent(listener: (event: RunnerEvent) => void): void {
    this.listener = listener;
  }

  private emit(event: RunnerEvent): void {
    try {
      this.listener?.(event);
    } catch (e) {
      // A listener's bug must not take the watchdog (or the backend) down with it.
      console.error(`[petrel] the local-process runner's event listener failed on ${event.type} of node ${event.assignment.node}:`, e);
    }
  }

  async launch(request: LaunchRequest): Promise<RunnerHandle> {
    if (this.closed) throw new Error(`local-process runner is closed: cannot launch attempt ${request.assignment.attempt} of node ${request.assignment.node}`);
    if (this.warm) return this.warm.launch(request);
    const id = attemptId(request.assignment);
    const existing = this.attempts.get(id);
    if (existing) return this.handleOf(existing);
    // A process reports over HTTP: it needs the node's token.
    const token = await request.token();
    const attempt: ProcessAttempt = {
      id,
      assignment: request.assignment,
      log: logPath(this.options.logDir, request.assignment),
      memory: memoryLimitOf(request.task),
      cpu: cpuClaimOf(request.task),
      ended: false,
    };
    this.attempts.set(id, attempt);
    // Set before start() runs, which it may do right here (there is room) or later.
    attempt.ticket = this.admission.enter(attempt.cpu, (ticket) => {
      attempt.ticket = ticket;
      this.start(attempt, request, token);
    });
    return this.handleOf(attempt);
  }

  private handleOf(a: ProcessAttempt): RunnerHandle {
    const info: Record<string, string> = { mode: "process", log: a.log, attempt: a.id };
    if (a.startedAt) info.startedAt = a.startedAt;
    if (a.memory) info.memoryLimit = a.memory.text;
    if (a.cpu > 0) info.cpu = String(a.cpu);
    return { kind: LOCAL_PROCESS_RUNNER, id: a.pid !== undefined ? String(a.pid) : QUEUED, info };
  }

  /** Spawns the runtime of an admitted attempt. */
  private start(a: ProcessAttempt, request: LaunchRequest, token: string): void {
    const env: Record<string, string> = {
      ...this.options.baseEnv,
      ...request.task.env,
      // The protocol's variables last: a task's env cannot redirect its own report.
      [RUNTIME_ENV.endpoint]: request.endpoint,
      [RUNTIME_ENV.token]: token,
      [RUNTIME_ENV.assignment]: JSON.stringify(request.assignment),
      [RUNTIME_ENV.home]: this.options.home,
      [RUNTIME_OPTIONAL_ENV.attemptId]: a.id,
      [RUNTIME_OPTIONAL_ENV.logMaxBytes]: String(this.options.maxLogBytes),
    };
    const args = [...this.options.execArgv, ...(a.memory ? [heapFlagOf(a.memory)] : []), this.options.runtimeEntry];
    let fd: number | undefined;
    try {
      fd = openLogForAppend(a.log);
      const child = spawn(process.execPath, args, { cwd: this.options.cwd, env, detached: true, stdio: ["ignore", fd, fd] });
      a.child = child;
      a.pid = child.pid;
      a.startedAt = new Date().toISOString();
      child.once("exit", (code, signal) => void this.ended(a, code ?? undefined, signal ?? undefined));
      child.once("error", (e) => {
        if (a.pid === undefined) void this.ended(a, undefined, undefined, `could not start the runtime (${process.execPath} ${args.join(" ")}): ${e.message}`);
      });
    } catch (e) {
      void this.ended(a, undefined, undefined, `could not start the runtime: ${(e as Error).message}`);
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
    this.startPoller();
  }

  /** An attempt's process is gone (or never started): frees its room and reports the exit. */
  private async ended(a: ProcessAttempt, exitCode: number | undefined, signal: string | undefined, startError?: string): Promise<void> {
    if (a.ended) return;
    a.ended = true;
    if (a.killTimer) clearTimeout(a.killTimer);
    if (a.ticket) this.admission.release(a.ticket);
    if (this.attempts.get(a.id) === a) this.attempts.delete(a.id);
    const exit: AttemptExit = { reason: "exited", message: "" };
    if (exitCode !== undefined) exit.exitCode = exitCode;
    if (signal !== undefined) exit.signal = signal;
    if (startError) {
      exit.reason = "lost";
      exit.message = startError;
    } else if (a.stopping) {
      exit.reason = a.stopping.reason;
      exit.message = a.stopping.message;
    } else {
      const tail = (await readLogTail(a.log, EXIT_TAIL_BYTES).catch(() => "")).trim();
      const who = `the runtime process ${a.pid ?? "?"}`;
      if ((signal === "SIGABRT" || exitCode === 134) && isHeapExhaustion(tail)) {
        exit.reason = "oom";
        exit.message = `${who} ran out of JavaScript heap${a.memory ? ` (memory limit ${a.memory.text}, ${heapFlagOf(a.memory)})` : ""}`;
      } else if (exitCode === undefined && signal === undefined) {
        exit.message = `${who} (started before the backend restarted) has ended; its exit status is unknown`;
      } else if (exitCode === RUNTIME_EXIT.REPORTED) {
        exit.message = `${who} exited normally`;
      } else if (exitCode === RUNTIME_EXIT.UNREPORTED) {
        exit.message = `${who} could not report its outcome to the backend (exit code 3)`;
      } else {
        exit.message = `${who} ${signal ? `was killed by ${signal}` : `exited with code ${exitCode}`}`;
      }
      if (exit.reason === "exited" && exitCode !== RUNTIME_EXIT.REPORTED && tail) exit.message += `; its log ends with: ${tail.slice(-EXIT_TAIL_BYTES)}`;
    }
    this.emit({ type: "exit", assignment: a.assignment, exit });
  }

  async reattach(assignment: AttemptAssignment, handle: RunnerHandle): Promise<boolean> {
    if (this.closed || this.warm || handle.kind !== LOCAL_PROCESS_RUNNER || handle.info?.mode === "warm") return false;
    const id = attemptId(assignment);
    if (this.attempts.has(id)) return true;
    const pid = this.findProcess(id, handle);
    if (pid === undefined) return false;
    this.watch(assignment, handle, pid);
    return true;
  }

  /**
   * The running runtime of an attempt: the handle's pid if that process carries the
   * attempt's marker, else — for a handle recorded while the attempt was still
   * queued — the process group leader that carries it.
   */
  private findProcess(id: string, handle: RunnerHandle): number | undefined {
    const pid = Number(handle.id);
    if (Number.isSafeInteger(pid) && pid > 0) return isRunning(pid) && hasEnvironment(pid, RUNTIME_OPTIONAL_ENV.attemptId, id) ? pid : undefined;
    return handle.id === QUEUED ? findGroupLeaderWithEnvironment(RUNTIME_OPTIONAL_ENV.attemptId, id) : undefined;
  }

  /** Watches a process this runner did not start (re-attached), by polling. */
  private watch(assignment: AttemptAssignment, handle: RunnerHandle, pid: number): ProcessAttempt {
    const cpu = Number(handle.info?.cpu ?? 0) || 0;
    const limit = handle.info?.memoryLimit;
    const a: ProcessAttempt = {
      id: attemptId(assignment),
      assignment,
      log: handle.info?.log ?? logPath(this.options.logDir, assignment),
      memory: limit ? memoryLimit(limit, `the handle of attempt ${attemptId(assignment)}: memoryLimit`) : undefined,
      cpu,
      ticket: this.admission.occupy(cpu),
      pid,
      ended: false,
      ...(handle.info?.startedAt ? { startedAt: handle.info.startedAt } : {}),
    };
    this.attempts.set(a.id, a);
    this.startPoller();
    return a;
  }

  async abort(assignment: AttemptAssignment, handle: RunnerHandle, reason: string): Promise<void> {
    if (this.warm) {
      this.warm.abort(attemptId(assignment), reason);
      return;
    }
    const id = attemptId(assignment);
    let a = this.attempts.get(id);
    if (!a) {
      const pid = this.findProcess(id, handle);
      if (pid !== undefined) a = this.watch(assignment, handle, pid);
    }
    const message = `the attempt was aborted: ${reason}`;
    if (!a) {
      this.emit({ type: "exit", assignment, exit: { reason: "aborted", message: `${message} (it was not running)` } });
      return;
    }
    if (!a.ticket?.admitted) {
      // Still queued: it never starts.
      a.stopping = { reason: "aborted", message: `${message} (before it started)` };
      void this.ended(a, undefined, undefined);
      return;
    }
    this.stop(a, "aborted", message);
  }

  /** SIGTERM to the attempt's process group, SIGKILL after the grace period. */
  private stop(a: ProcessAttempt, reason: AttemptExit["reason"], message: string, signal: NodeJS.Signals = "SIGTERM"): void {
    a.stopping ??= { reason, message };
    if (a.pid === undefined) return;
    signalGroup(a.pid, signal);
    if (signal !== "SIGKILL" && !a.killTimer) {
      a.killTimer = setTimeout(() => {
        if (!a.ended && a.pid !== undefined) signalGroup(a.pid, "SIGKILL");
      }, this.options.killGraceMs);
      a.killTimer.unref();
    }
  }

  logs(assignment: AttemptAssignment, handle: RunnerHandle, options: LogReadOptions = {}): AsyncIterable<Uint8Array> {
    const id = attemptId(assignment);
    const path = handle.info?.log ?? logPath(this.options.logDir, assignment);
    const running = () => (this.warm ? this.warm.isRunning(id) : this.attempts.get(id)?.ended === false);
    return readLogFile(path, options, running);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.poller) clearInterval(this.poller);
    this.poller = undefined;
    if (this.warm) await this.warm.close();
    for (const a of this.attempts.values()) {
      if (a.stopping && a.pid !== undefined && !a.ended) signalGroup(a.pid, "SIGKILL");
      // The rest run on and report over HTTP; a restarted backend re-attaches to them.
      a.child?.unref();
    }
  }

  private startPoller(): void {
    if (this.poller || this.closed) return;
    this.poller = setInterval(() => void this.poll(), this.options.pollMs);
    this.poller.unref();
  }

  /** One round of the watchdog: liveness of re-attached processes, memory, log sizes. */
  private async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      const checkLogs = ++this.polls % LOG_CHECK_EVERY === 0;
      for (const a of [...this.attempts.values()]) {
        if (a.ended || a.pid === undefined) continue;
        if (!a.child && !isRunning(a.pid)) {
          await this.ended(a, undefined, undefined);
          continue;
        }
        if (a.memory && !a.stopping) {
          const rss = await residentBytes(a.pid);
          if (rss !== undefined && rss > a.memory.bytes) this.stop(a, "oom", overLimitMessage(a.memory, rss, a.pid), "SIGKILL");
        }
        if (checkLogs) await enforceLogCap(a.log, this.options.maxLogBytes, LOG_SLACK_BYTES).catch(() => false);
      }
      if (this.warm) await this.warm.poll();
      if (!this.warm && this.attempts.size === 0 && this.poller) {
        clearInterval(this.poller);
        this.poller = undefined;
      }
    } finally {
      this.polling = false;
    }
  }
}
