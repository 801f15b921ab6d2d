/**
 * A notebook session: everything behind the protocol server that needs TypeScript
 * and Petrel loaded (the kernel loads it after answering its first `kernel_info`,
 * so starting is fast). It answers execute, complete, inspect, is_complete,
 * history and comm requests, routes cell output, and owns interrupts.
 */
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { CellRegistry } from "./cells.js";
import { display, setDisplaySink } from "./display.js";
import { compileErrorContent, interruptedContent, runtimeErrorContent, usageErrorContent, UsageError, type ErrorContent } from "./errors.js";
import { CellExecutor } from "./executor.js";
import { plainText, toMimeBundle } from "./format.js";
import { History, type HistoryQuery } from "./history.js";
import { Magics, splitMagics, type Magic, type MagicExtension } from "./magics.js";
import type { MimeBundle } from "./mime.js";
import { OutputRouter } from "./output.js";
import { installRequireHook } from "./resolution.js";
import type { KernelServer, Request, RequestHandler } from "./server.js";
import { cleanStack, installStackTraces, type CleanStackOptions } from "./stack.js";
import { PACKAGE_ROOT, TSLAB_ENTRY } from "./versions.js";
import type { Content } from "./wire.js";

/** The kernel's globals as every cell's type checker sees them. */
const KERNEL_GLOBALS = `/** Rich output from cells: display(value), display.html(...), display.update(id, value), ... */
declare const display: import(${JSON.stringify(fileURLToPath(new URL("./display.js", import.meta.url)))}).Display;
`;

/** Frames of these files never show in a user's traceback. */
const HIDDEN_FRAMES: readonly string[] = [
  `${PACKAGE_ROOT}/dist/`,
  `${PACKAGE_ROOT}/kernel/`,
  `${dirname(dirname(TSLAB_ENTRY))}/`,
];

/** What a session sends through: the kernel's protocol server, or a headless run's collector. */
export type SessionServer = Pick<KernelServer, "publish" | "abortQueuedExecutions">;

/** Options of `new Session()`. */
export interface SessionOptions {
  server: SessionServer;
  /** The notebook's folder. */
  cwd: string;
  /** `%petrel` subcommands added by libraries (the remote client's). */
  magics?: readonly MagicExtension[];
}

/** The content of an execute_request. */
interface ExecuteRequest {
  code?: string;
  silent?: boolean;
  store_history?: boolean;
  stop_on_error?: boolean;
}

/** One notebook's kernel state. */
export class Session {
  private readonly server: SessionServer;
  private readonly output: OutputRouter;
  private readonly cells: CellRegistry;
  private readonly history = new History();
  private readonly executor: CellExecutor;
  private readonly stackOptions: CleanStackOptions;
  private readonly magics: Magics;
  private readonly restore: (() => void)[] = [];
  private count = 0;
  /** The virtual file the running cell's code gets once it compiles. */
  private compiled: ((source: string) => string) | undefined;
  private running: AbortController | undefined;

  /** Request handlers, by message type. */
  readonly handlers: Readonly<Record<string, RequestHandler>> = {
    execute_request: (r) => this.execute(r),
    complete_request: (r) => this.complete(r.content),
    inspect_request: (r) => this.inspect(r.content),
    is_complete_request: (r) => this.isComplete(r.content),
    history_request: (r) => ({ status: "ok", history: this.history.query(r.content as HistoryQuery) }),
    interrupt_request: () => {
      this.interrupt();
      return { status: "ok" };
    },
  };

  constructor(options: SessionOptions) {
    this.server = options.server;
    this.magics = new Magics(options.magics);
    installStackTraces();
    this.restore.push(installRequireHook());
    this.output = new OutputRouter(this.server);
    this.output.install();
    this.restore.push(() => this.output.uninstall());
    this.restore.push(
      setDisplaySink({
        show: (data, metadata, id, update) => {
          void this.output.publish(update ? "update_display_data" : "display_data", { data, metadata, transient: { display_id: id } });
        },
        clear: (wait) => {
          void this.output.publish("clear_output", { wait });
        },
      }),
    );
    (globalThis as { display?: unknown }).display = display;
    this.cells = new CellRegistry(options.cwd);
    this.restore.push(() => this.cells.dispose());
    this.stackOptions = { hide: HIDDEN_FRAMES, label: (file) => this.cells.label(file) };
    this.executor = new CellExecutor({
      cwd: options.cwd,
      globals: KERNEL_GLOBALS,
      onCompiled: (source) => this.compiled?.(source) ?? this.cells.addScratch(source),
      onWarning: (text) => this.output.write("stderr", `${text}\n`),
    });
  }

  /** Loads the compiler ahead of the first cell, yielding to the event loop between steps; `signal` cuts it short. */
  prepare(signal?: AbortSignal): Promise<void> {
    return this.executor.prepare(signal);
  }

  /** The notebook's top-level declarations. */
  get locals(): Record<string, unknown> {
    return this.executor.locals;
  }

  /** The cells that ran (the bundle builder's sources). */
  get cellRegistry(): CellRegistry {
    return this.cells;
  }

  /** Interrupts the running cell (an await, a local run); the kernel's state stays. */
  interrupt(): void {
    this.executor.interrupt();
    this.running?.abort(new Error("interrupted"));
  }

  /** Reports an error nobody caught (a timer's, a forgotten promise's) on the current cell's stderr. */
  reportUncaught(kind: string, error: unknown): void {
    const content = runtimeErrorContent(error, this.stackOptions);
    this.output.write("stderr", `${kind}: ${content.traceback.join("\n")}\n`);
  }

  /** Releases the compiler and the kernel's hooks. */
  close(): void {
    this.executor.close();
    for (const undo of this.restore.reverse()) undo();
  }

  private async execute(request: Request): Promise<Content> {
    const content = request.content as ExecuteRequest;
    const code = typeof content.code === "string" ? content.code : "";
    const silent = content.silent === true;
    const storeHistory = silent ? false : content.store_history !== false;
    if (storeHistory) this.count++;
    const count = this.count;
    // From here on an interrupt belongs to this cell, even before its code starts.
    const controller = (this.running = new AbortController());
    this.output.parent = request;
    // Outputs keep their order in the outbox, so the cell need not wait for this send.
    if (!silent) void this.output.publish("execute_input", { code, execution_count: count });
    if (storeHistory) this.history.add(count, code);
    this.compiled = storeHistory ? (source) => this.cells.add(count, source) : undefined;
    let failure: ErrorContent | undefined;
    try {
      // Magics (a local run) count as busy too: the compiler's idle work waits for them.
      failure = await this.executor.whileBusy(() => this.run(code, count, silent, controller.signal));
    } finally {
      this.compiled = undefined;
      if (this.running === controller) this.running = undefined;
    }
    await this.output.flush();
    if (!failure) return { status: "ok", execution_count: count, user_expressions: {}, payload: [] };
    if (!silent) await this.output.publish("error", failure);
    // Before the reply: whatever the client sends after it must run.
    if (content.stop_on_error !== false) await this.server.abortQueuedExecutions();
    return { status: "error", execution_count: count, ...failure };
  }

  /** Runs a cell: its code, then its magics. Returns the failure, if any. */
  private async run(cell: string, count: number, silent: boolean, signal: AbortSignal): Promise<ErrorContent | undefined> {
    const { code, magics } = splitMagics(cell);
    try {
      magics.forEach((m) => this.magics.check(m));
    } catch (e) {
      return usageErrorContent((e as Error).message);
    }
    if (signal.aborted) return interruptedContent();
    if (code.trim()) {
      const outcome = await this.executor.execute(code, signal);
      if (outcome.status === "compile-error") return compileErrorContent(outcome.diagnostics, `cell [${count}]`, code);
      if (outcome.status === "runtime-error") return runtimeErrorContent(outcome.error, this.stackOptions);
      if (outcome.status === "interrupted") return interruptedContent();
      if (outcome.hasValue && !silent) await this.showResult(outcome.value, count);
    }
    for (const magic of magics) {
      const failed = await this.runMagic(magic, signal);
      if (failed) return failed;
    }
    return undefined;
  }

  private async runMagic(magic: Magic, signal: AbortSignal): Promise<ErrorContent | undefined> {
    // A task that ignores its abort signal may never settle: on interrupt, stop waiting for it.
    const interrupted = new Promise<never>((_, reject) => signal.addEventListener("abort", () => reject(new Error("interrupted")), { once: true }));
    interrupted.catch(() => undefined);
    try {
      await Promise.race([this.magics.run(magic, { locals: this.executor.locals, cells: this.cells, signal }), interrupted]);
      return undefined;
    } catch (e) {
      if (e instanceof UsageError) return usageErrorContent(e.message);
      return signal.aborted ? interruptedContent() : runtimeErrorContent(e, this.stackOptions);
    }
  }

  private async showResult(value: unknown, count: number): Promise<void> {
    let data: MimeBundle;
    try {
      data = await toMimeBundle(value);
    } catch (e) {
      this.output.write("stderr", `cannot render the result: ${cleanStack(String((e as Error)?.stack ?? e), this.stackOptions).join("\n")}\n`);
      data = { "text/plain": plainText(value) };
    }
    if (Object.keys(data).length === 0) return;
    void this.output.publish("execute_result", { execution_count: count, data, metadata: {} });
    if (typeof data["text/plain"] === "string") this.history.setOutput(count, data["text/plain"]);
  }

  private complete(content: Content): Content {
    const code = String(content.code ?? "");
    const cursor = toUtf16(code, Number(content.cursor_pos ?? [...code].length));
    const lineStart = code.lastIndexOf("\n", cursor - 1) + 1;
    const linePrefix = code.slice(lineStart, cursor);
    const found = /^\s*%/.test(linePrefix) ? this.completeMagic(linePrefix, cursor) : this.executor.complete(splitMagics(code).code, cursor);
    return {
      status: "ok",
      matches: found.matches,
      cursor_start: toCodePoints(code, found.start),
      cursor_end: toCodePoints(code, found.end),
      metadata: {},
    };
  }

  /** Completes `%petrel`, its subcommands, and the names of workflows and tasks after `%petrel run`. */
  private completeMagic(linePrefix: string, cursor: number): { start: number; end: number; matches: string[] } {
    const word = /[\w$%-]*$/.exec(linePrefix)![0];
    const before = linePrefix.slice(0, linePrefix.length - word.length).trim();
    let options: string[];
    if (before === "") options = ["%petrel"];
    else if (before === "%petrel") options = this.magics.names();
    else if (/^%petrel\s+(run|bundle|register|run-remote|promote)\b/.test(before)) {
      const locals = this.executor.locals;
      options = Object.keys(locals).filter((k) => {
        const kind = (locals[k] as { kind?: unknown } | null)?.kind;
        return kind === "workflow" || kind === "task" || kind === "launch_plan";
      });
    } else options = [];
    return { start: cursor - word.length, end: cursor, matches: options.filter((o) => o.startsWith(word)) };
  }

  private inspect(content: Content): Content {
    const code = String(content.code ?? "");
    const cursor = toUtf16(code, Number(content.cursor_pos ?? [...code].length));
    const text = this.executor.inspect(splitMagics(code).code, cursor);
    return text ? { status: "ok", found: true, data: { "text/plain": text }, metadata: {} } : { status: "ok", found: false, data: {}, metadata: {} };
  }

  private isComplete(content: Content): Content {
    const { code } = splitMagics(String(content.code ?? ""));
    if (!code.trim()) return { status: "complete" };
    const result = this.executor.isComplete(code);
    return result.status === "incomplete" ? { status: "incomplete", indent: result.indent ?? "" } : { status: result.status };
  }
}

/** Jupyter counts cursor positions in Unicode code points; JavaScript strings in UTF-16 units. */
function toUtf16(text: string, codePoints: number): number {
  let i = 0;
  for (let n = 0; n < codePoints && i < text.length; n++) i += text.codePointAt(i)! > 0xffff ? 2 : 1;
  return i;
}

function toCodePoints(text: string, utf16: number): number {
  return [...text.slice(0, utf16)].length;
}
