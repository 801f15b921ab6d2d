/**
 * Warm workers: runtime processes (kernel/runtime/worker.js) kept alive between
 * attempts, each running one attempt at a time over IPC, with inputs passed inline
 * and blobs read and written directly in the backend's filesystem blob root. An
 * attempt goes to an idle worker, or waits in arrival order for one.
 *
 * Outcomes come back as `outcome` events. A worker that dies mid-attempt reports
 * the attempt as `lost` (or `oom` when the watchdog or V8 ran it out of memory)
 * and is replaced; one that timed out or was aborted retires itself, since its
 * task may still be running. Logs: what the worker printed while running the
 * attempt arrives as `log` messages (ordered with the result, capped in the
 * worker) and goes to the attempt's file, created only if it prints something.
 * Warm attempts die with the backend, so they never re-attach.
 */
import { fork, type ChildProcess } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { BlobRef } from "../../kernel/index.js";
import { attemptId, createBackendClient, RUNTIME_ENV, RUNTIME_OPTIONAL_ENV, type AttemptOutcome, type WorkerReply, type WorkerRequest } from "../../kernel/runtime/index.js";
import type { RunnerHandle } from "../store/index.js";
import { AttemptLogWriter, logPath } from "./logs.js";
import type { CompiledRunnerOptions, WarmWorkerOptions } from "./options.js";
import { residentBytes } from "./proc.js";
import { isHeapExhaustion, memoryLimitOf, overLimitMessage, type MemoryLimit } from "./resources.js";
import type { AttemptExit, LaunchRequest, RunnerEvent } from "./types.js";

/** After this many workers in a row die before saying ready, the pool stops forking and fails attempts. */
const MAX_START_FAILURES = 3;
/** Output a worker printed outside attempts, kept to explain its death. */
const RECENT_OUTPUT_CHARS = 4_000;

interface WarmWorker {
  child: ChildProcess;
  pid: number;
  ready: boolean;
  /** Finishing its last attempt, then exiting (it timed out or was aborted): never idle again. */
  retiring: boolean;
  current: WarmAttempt | undefined;
  /** The end of what it printed (for attempts and outside them), to explain its death. */
  recentOutput: string;
  stopping: { reason: AttemptExit["reason"]; message: string } | undefined;
  killTimer: NodeJS.Timeout | undefined;
}

interface WarmAttempt {
  seq: number;
  id: string;
  request: LaunchRequest;
  log: AttemptLogWriter;
  memory: MemoryLimit | undefined;
  worker: WarmWorker | undefined;
  /** The engine was told how it ended (outcome or exit). */
  reported: boolean;
  /** Checkpoints being recorded: the outcome is reported after them. */
  checkpoints: Promise<void> | undefined;
}

export class WarmPool {
  private readonly workers = new Set<WarmWorker>();
  private readonly idle: WarmWorker[] = [];
  private readonly queue: WarmAttempt[] = [];
  /** Attempts queued or running, by attempt id and by message id. */
  private readonly byId = new Map<string, WarmAttempt>();
  private readonly bySeq = new Map<number, WarmAttempt>();
  private seq = 0;
  private startFailures = 0;
  private broken: string | undefined;
  private closed = false;

  constructor(
    private readonly options: CompiledRunnerOptions,
    private readonly warm: Required<WarmWorkerOptions>,
    private readonly emit: (event: RunnerEvent) => void,
  ) {}

  start(): void {
    for (let i = 0; i < this.warm.workers; i++) this.fork();
  }

  private fork(): void {
    const env: Record<string, string> = {
      ...this.options.baseEnv,
      [RUNTIME_ENV.home]: this.options.home,
      [RUNTIME_OPTIONAL_ENV.blobRoot]: this.warm.blobRoot,
      [RUNTIME_OPTIONAL_ENV.logMaxBytes]: String(this.options.maxLogBytes),
    };
    const child = fork(this.options.workerEntry, [], {
      cwd: this.options.cwd,
      env,
      execArgv: this.options.execArgv,
      stdio: ["ignore", "pipe", "pipe", "ipc"],
      serialization: this.warm.serialization,
    });
    const worker: WarmWorker = { child, pid: child.pid ?? 0, ready: false, retiring: false, current: undefined, recentOutput: "", stopping: undefined, killTimer: undefined };
    this.workers.add(worker);
    const output = (chunk: Buffer) => {
      // Printed around the runtime's capture (native code, V8's fatal errors): the running attempt's, else kept to explain a death.
      worker.current?.log.write(chunk);
      worker.recentOutput = (worker.recentOutput + chunk.toString("utf8")).slice(-RECENT_OUTPUT_CHARS);
    };
    child.stdout!.on("data", output);
    child.stderr!.on("data", output);
    child.on("message", (message: WorkerReply) => this.onMessage(worker, message));
    child.once("exit", (code, signal) => this.onExit(worker, code ?? undefined, signal ?? undefined));
    child.once("error", (e) => {
      worker.recentOutput += `\n${e.message}`;
      if (child.pid === undefined) this.onExit(worker, undefined, undefined);
    });
  }

  launch(request: LaunchRequest): RunnerHandle {
    const id = attemptId(request.assignment);
    const existing = this.byId.get(id);
    if (existing) return this.handleOf(existing);
    const a: WarmAttempt = {
      seq: ++this.seq,
      id,
      request,
      log: new AttemptLogWriter(logPath(this.options.logDir, request.assignment), this.options.maxLogBytes),
      memory: memoryLimitOf(request.task),
      worker: undefined,
      reported: false,
      checkpoints: undefined,
    };
    this.byId.set(id, a);
    this.bySeq.set(a.seq, a);
    if (this.broken) {
      queueMicrotask(() => this.finish(a, { type: "exit", assignment: request.assignment, exit: { reason: "lost", message: this.broken! } }));
      return this.handleOf(a);
    }
    const worker = this.idle.pop();
    if (worker) this.dispatch(worker, a);
    else this.queue.push(a);
    return this.handleOf(a);
  }

  private handleOf(a: WarmAttempt): RunnerHandle {
    return {
      kind: "local-process",
      id: a.worker ? String(a.worker.pid) : "queued",
      info: { mode: "warm", log: a.log.path, attempt: a.id, startedAt: new Date().toISOString() },
    };
  }

  private dispatch(worker: WarmWorker, a: WarmAttempt): void {
    worker.current = a;
    a.worker = worker;
    const env = a.request.task.env;
    const message: WorkerRequest = {
      type: "run",
      id: a.seq,
      assignment: a.request.assignment,
      inputs: a.request.inputs,
      ...(env && Object.keys(env).length > 0 ? { env } : {}),
    };
    worker.child.send(message);
  }

  /** A worker is free: it takes the next queued attempt, or waits. */
  private release(worker: WarmWorker): void {
    worker.current = undefined;
    if (worker.retiring || !worker.ready || this.closed) return;
    const next = this.queue.shift();
    if (next) this.dispatch(worker, next);
    else this.idle.push(worker);
  }

  private onMessage(worker: WarmWorker, message: WorkerReply): void {
    switch (message.type) {
      case "ready":
        worker.ready = true;
        worker.pid = message.pid;
        this.startFailures = 0;
        this.release(worker);
        return;
      case "log":
        this.bySeq.get(message.id)?.log.write(message.data);
        worker.recentOutput = (worker.recentOutput + message.data).slice(-RECENT_OUTPUT_CHARS);
        return;
      case "checkpoint": {
        const a = this.bySeq.get(message.id);
        if (a) a.checkpoints = (a.checkpoints ?? Promise.resolve()).then(() => this.recordCheckpoint(a, message.checkpoint));
        return;
      }
      case "result": {
        const a = this.bySeq.get(message.id);
        if (message.outcome.phase === "TIMED_OUT") worker.retiring = true; // the worker exits after a timeout
        if (worker.current === a) this.release(worker);
        if (a) this.settled(a, message.outcome);
        return;
      }
    }
  }

  /** The worker is done with an attempt: its log closes, and the engine hears the outcome (after any checkpoint). */
  private settled(a: WarmAttempt, outcome: AttemptOutcome): void {
    const event: RunnerEvent = { type: "outcome", assignment: a.request.assignment, outcome };
    if (a.checkpoints) void a.checkpoints.then(() => this.finish(a, event));
    else this.finish(a, event);
  }

  /** Forgets an attempt and tells the engine how it ended, once. */
  private finish(a: WarmAttempt, event: RunnerEvent | undefined): void {
    a.log.close();
    if (this.byId.get(a.id) === a) this.byId.delete(a.id);
    this.bySeq.delete(a.seq);
    if (a.reported || !event) return;
    a.reported = true;
    this.emit(event);
  }

  /** Records a warm attempt's checkpoint through the API: its blob is claimed for the project by uploading it. */
  private async recordCheckpoint(a: WarmAttempt, ref: BlobRef): Promise<void> {
    try {
      const client = createBackendClient({ endpoint: a.request.endpoint, token: await a.request.token(), assignment: a.request.assignment });
      const hex = ref.hash.slice("sha256:".length);
      await client.upload(ref, await readFile(join(this.warm.blobRoot, "sha256", hex.slice(0, 2), hex)));
      await client.checkpoint(ref);
    } catch (e) {
      a.log.write(`[petrel] could not record checkpoint ${ref.hash}: ${(e as Error).message}\n`);
    }
  }

  private onExit(worker: WarmWorker, code: number | undefined, signal: string | undefined): void {
    if (!this.workers.delete(worker)) return;
    if (worker.killTimer) clearTimeout(worker.killTimer);
    const i = this.idle.indexOf(worker);
    if (i >= 0) this.idle.splice(i, 1);
    const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
    const a = worker.current;
    worker.current = undefined;
    if (a) {
      const exit: AttemptExit = { reason: "lost", message: "" };
      if (code !== undefined) exit.exitCode = code;
      if (signal !== undefined) exit.signal = signal;
      if (worker.stopping) {
        exit.reason = worker.stopping.reason;
        exit.message = worker.stopping.message;
      } else if (isHeapExhaustion(worker.recentOutput)) {
        exit.reason = "oom";
        exit.message = `warm worker ${worker.pid} ran out of JavaScript heap while running the attempt`;
      } else {
        const tail = worker.recentOutput.trim().slice(-1_000);
        exit.message = `warm worker ${worker.pid} ${how} while running the attempt${tail ? `; its output ends with: ${tail}` : ""}`;
      }
      this.finish(a, { type: "exit", assignment: a.request.assignment, exit });
    }
    if (this.closed) return;
    if (!worker.ready && ++this.startFailures >= MAX_START_FAILURES) {
      this.broken = `warm workers cannot start: ${this.startFailures} in a row ${how} before they were ready (${this.options.workerEntry}); last output: ${worker.recentOutput.trim().slice(-1_000) || "(none)"}`;
      for (const queued of this.queue.splice(0)) this.finish(queued, { type: "exit", assignment: queued.request.assignment, exit: { reason: "lost", message: this.broken } });
      return;
    }
    this.fork();
  }

  abort(id: string, reason: string): void {
    const a = this.byId.get(id);
    if (!a) return;
    const message = `the attempt was aborted: ${reason}`;
    const worker = a.worker;
    if (!worker) {
      this.queue.splice(this.queue.indexOf(a), 1);
      this.finish(a, { type: "exit", assignment: a.request.assignment, exit: { reason: "aborted", message: `${message} (before it started)` } });
      return;
    }
    // The engine hears now; the worker stops the task, retires, and is killed if it does not.
    a.reported = true;
    this.emit({ type: "exit", assignment: a.request.assignment, exit: { reason: "aborted", message } });
    worker.retiring = true;
    worker.stopping ??= { reason: "aborted", message };
    const request: WorkerRequest = { type: "abort", id: a.seq, reason };
    worker.child.send(request);
    worker.killTimer ??= setTimeout(() => worker.child.kill("SIGKILL"), this.options.killGraceMs);
    worker.killTimer.unref();
  }

  isRunning(id: string): boolean {
    return this.byId.has(id);
  }

  /** The memory watchdog over busy workers. */
  async poll(): Promise<void> {
    for (const worker of this.workers) {
      const a = worker.current;
      if (!a?.memory || worker.stopping) continue;
      const rss = await residentBytes(worker.pid);
      if (rss !== undefined && rss > a.memory.bytes && worker.current === a) {
        worker.stopping = { reason: "oom", message: overLimitMessage(a.memory, rss, worker.pid) };
        worker.child.kill("SIGKILL");
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const exits = [...this.workers].map((w) => new Promise<void>((resolve) => {
      if (w.child.exitCode !== null || w.child.signalCode !== null) return resolve();
      w.child.once("exit", () => resolve());
      // Disconnecting tells a worker the backend is gone; it exits by itself.
      if (w.child.connected) w.child.disconnect();
      setTimeout(() => w.child.kill("SIGKILL"), this.options.killGraceMs).unref();
    }));
    await Promise.all(exits);
    for (const a of [...this.byId.values()]) a.log.close();
    this.byId.clear();
    this.bySeq.clear();
    this.queue.length = 0;
  }
}
