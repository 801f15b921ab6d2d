/**
 * Runs cells with the kernel's cell compiler (converter.ts) and tslab's executor: each
 * cell is type-checked against the declarations of earlier cells, compiled, and run
 * in this process; declarations persist across cells. The kernel adds what tslab
 * leaves to a console: structured outcomes (the value, compile diagnostics with
 * positions, the thrown error), cell code that runs under the cell's virtual file
 * name with mapped stack frames, and `is_complete` that also says "invalid".
 */
import { homedir } from "node:os";
import { join } from "node:path";
import type { Converter, Diagnostic } from "tslab/dist/converter.js";
import type { Executor } from "tslab/dist/executor.js";
import { loadTslab, type Tslab } from "./compiler-host.js";
import { CellCompiler, PREFIX } from "./converter.js";
import { createOverlay } from "./resolution.js";
import { createCellMapper, registerCellMapper } from "./stack.js";
import { compilerTiering } from "./tiering.js";

/** A compile error or warning, 1-based, in the cell (or in `file`, a module the cell imports). */
export interface CompileDiagnostic {
  line: number;
  column: number;
  endLine: number;
  endColumn: number;
  message: string;
  /** TypeScript's error code (TS2304 is 2304). */
  code: number;
  /** Set when the problem is in another file (relative to the notebook's folder). */
  file?: string;
}

/** How a cell ended. */
export type CellOutcome =
  | { status: "ok"; hasValue: boolean; value?: unknown }
  | { status: "compile-error"; diagnostics: CompileDiagnostic[] }
  | { status: "runtime-error"; error: unknown }
  | { status: "interrupted" };

/** The answer to `is_complete`. */
export interface Completeness {
  status: "complete" | "incomplete" | "invalid";
  indent?: string;
}

/** Completion candidates for the code around a cursor (UTF-16 offsets). */
export interface Completions {
  start: number;
  end: number;
  matches: string[];
}

/** Options of `new CellExecutor()`. */
export interface CellExecutorOptions {
  /** The notebook's folder: cells resolve imports from there. */
  cwd: string;
  /** Declarations of the kernel's globals, visible to every cell. */
  globals: string;
  /** A cell compiled and is about to run: record it and return the virtual file its code runs as. */
  onCompiled: (source: string) => string;
  /** Messages that do not fail the cell (diagnostics of `@module` cells). */
  onWarning: (text: string) => void;
  /** Where the compiler keeps what it can reuse across kernels (default: ~/.cache/petrel/kernel, or under $XDG_CACHE_HOME). */
  cacheDir?: string;
}

/** How long the executor waits, idle, before it parses the libraries' documentation. */
const DOCS_IDLE_MS = 2_000;

/** What tslab's executor passes to its console during one execution. */
interface Capture {
  diagnostics: Diagnostic[];
  errors: unknown[][];
  hasValue: boolean;
  value: unknown;
}

/** tslab's asynchronous interrupt; Node's `breakOnSigint` interrupt has a code. */
const TSLAB_INTERRUPT_MESSAGE = "Interrupted asynchronously";
const SIGINT_INTERRUPT_CODE = "ERR_SCRIPT_EXECUTION_INTERRUPTED";
/** tslab's executor wraps a cell's code in a function on the code's first line. */
const WRAPPER_PREFIX = { sync: "(function(exports, require) { ".length, async: "(async function(exports, require) { ".length };
/** Lines the compiler puts before a cell's own. */
const PREFIX_LINES = PREFIX.split("\n").length - 1;
/** What tslab passes to `console.error` when it prints diagnostics itself. */
const DIAGNOSTIC_FORMAT = "%s%d:%d - %s";

/** One notebook's TypeScript engine. */
export class CellExecutor {
  private readonly tslab: Tslab;
  private readonly executor: Executor;
  private readonly compiler: CellCompiler;
  private capture: Capture = emptyCapture();
  /** Compiler work runs under its own V8 tiering budget, cells' code under the notebook's (tiering.ts). */
  private readonly compiling = compilerTiering();
  /** Requests in progress (a cell counts until it settles). */
  private busy = 0;
  private docsTimer: NodeJS.Timeout | undefined;
  private docsLoaded = false;

  constructor(private readonly options: CellExecutorOptions) {
    const cacheDir = options.cacheDir ?? join(process.env.XDG_CACHE_HOME || join(homedir(), ".cache"), "petrel", "kernel");
    this.tslab = loadTslab(cacheDir);
    this.compiler = new CellCompiler(this.tslab.ts, { cwd: options.cwd, overlay: createOverlay(options.cwd, options.globals), cacheDir });
    const node = this.wrapConverter(this.compiler);
    const converters = {
      node,
      get browser(): Converter {
        throw new Error("@browser cells are not supported by the Petrel kernel");
      },
      close: () => node.close(),
    };
    this.executor = this.tslab.createExecutor(options.cwd, converters, {
      log: (...args: unknown[]) => {
        // tslab's executor logs exactly one thing: the cell's last expression.
        this.capture.hasValue = true;
        this.capture.value = args[0];
      },
      error: (...args: unknown[]) => this.capture.errors.push(args),
    });
  }

  /** Gets the compiler ready for the first cell without blocking the event loop for long (optional: it is also done on first use). */
  async prepare(signal?: AbortSignal): Promise<void> {
    await this.compiler.prepare(signal, this.compiling);
    this.idle();
  }

  /**
   * Parses the libraries again with their documentation, which the first cells are
   * compiled without (compiler-host.ts): done once the executor has been idle for
   * DOCS_IDLE_MS, so that it costs a notebook's first cells nothing and a hover no
   * wait. An `inspect` before then loads it itself.
   */
  private loadDocs(): void {
    clearTimeout(this.docsTimer);
    if (this.docsLoaded) return;
    this.docsLoaded = true;
    this.compiling(() => this.compiler.loadLibraryDocs());
  }

  /** Runs a request's work (a cell with its magics, say); the documentation waits until it has settled. */
  async whileBusy<T>(work: () => Promise<T>): Promise<T> {
    this.hold();
    try {
      return await work();
    } finally {
      this.release();
    }
  }

  /** A request starts: the documentation waits until none has come for a while. */
  private hold(): void {
    this.busy++;
    clearTimeout(this.docsTimer);
  }

  private release(): void {
    this.busy--;
    this.idle();
  }

  private idle(): void {
    if (this.docsLoaded || this.busy > 0) return;
    clearTimeout(this.docsTimer);
    this.docsTimer = setTimeout(() => this.loadDocs(), DOCS_IDLE_MS).unref();
  }

  /** The notebook's top-level declarations, by name. */
  get locals(): Record<string, unknown> {
    return this.executor.locals;
  }

  /** Type-checks, compiles and runs one cell; `signal` interrupts it (also when aborted before the cell started waiting). */
  execute(source: string, signal?: AbortSignal): Promise<CellOutcome> {
    return this.whileBusy(() => this.run(source, signal));
  }

  private async run(source: string, signal?: AbortSignal): Promise<CellOutcome> {
    const capture = (this.capture = emptyCapture());
    // tslab compiles the cell and runs its synchronous start inside this call, then
    // races the cell against an interrupt that only counts from now on.
    const running = this.executor.execute(source);
    if (signal?.aborted) this.executor.interrupt();
    const ok = await running;
    if (capture.diagnostics.length > 0) return { status: "compile-error", diagnostics: capture.diagnostics.map(toDiagnostic) };
    const thrown = capture.errors.filter((args) => args[0] !== DIAGNOSTIC_FORMAT).at(-1);
    if (ok) {
      for (const args of capture.errors) {
        if (args[0] === DIAGNOSTIC_FORMAT) this.options.onWarning(`${String(args[1])}${String(args[2])}:${String(args[3])} - ${String(args[4])}`);
      }
      return capture.hasValue ? { status: "ok", hasValue: true, value: capture.value } : { status: "ok", hasValue: false };
    }
    const error = thrown?.[0];
    if (error instanceof Error && (error.message === TSLAB_INTERRUPT_MESSAGE || (error as { code?: unknown }).code === SIGINT_INTERRUPT_CODE)) {
      return { status: "interrupted" };
    }
    return { status: "runtime-error", error };
  }

  /** Interrupts a cell waiting on a promise (synchronous code is interrupted by SIGINT itself). */
  interrupt(): void {
    this.executor.interrupt();
  }

  /** Completions at `cursor` (a UTF-16 offset). */
  complete(code: string, cursor: number): Completions {
    this.hold();
    try {
      const info = this.executor.complete(code, cursor);
      return { start: info.start, end: info.end, matches: info.candidates };
    } catch {
      return { start: cursor, end: cursor, matches: [] };
    } finally {
      this.release();
    }
  }

  /** What TypeScript knows about the name at `cursor` (its type and docs), as text. */
  inspect(code: string, cursor: number): string | undefined {
    this.loadDocs();
    for (const at of cursor > 0 ? [cursor, cursor - 1] : [cursor]) {
      try {
        const info = this.executor.inspect(code, at);
        if (info) return this.tslab.printQuickInfo(info);
      } catch {
        // Not a position TypeScript can describe.
      }
    }
    return undefined;
  }

  /** Whether `code` is ready to run: complete, incomplete (with the next line's indent) or invalid. */
  isComplete(code: string): Completeness {
    const ts = this.tslab.ts;
    const { completed, indent, file } = this.compiling(() => ({
      ...this.tslab.isCompleteCode(code),
      file: ts.createSourceFile("cell.ts", code, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS),
    }));
    const problems = (file as unknown as { parseDiagnostics?: { messageText: unknown }[] }).parseDiagnostics ?? [];
    const unterminated = problems.some((d) => typeof d.messageText === "string" && /^Unterminated template literal|^'\*\/' expected/.test(d.messageText));
    if (!completed || unterminated) return { status: "incomplete", indent: indent ?? "" };
    return problems.length > 0 ? { status: "invalid" } : { status: "complete" };
  }

  /** Stops the compiler's file watchers. */
  close(): void {
    clearTimeout(this.docsTimer);
    this.docsLoaded = true;
    this.executor.close();
  }

  /** The cell compiler, recording what each cell compiled to and naming its code after the cell's virtual file. */
  private wrapConverter(inner: CellCompiler): Converter {
    return {
      convert: (prevDecl, src) => {
        const result = this.compiling(() => inner.convert(prevDecl, src));
        if (result.diagnostics.length > 0) {
          this.capture.diagnostics = result.diagnostics;
          return result;
        }
        const file = this.options.onCompiled(src);
        if (result.output !== undefined) {
          if (result.sourceMap !== undefined) {
            registerCellMapper(
              file,
              createCellMapper({
                sourceMap: result.sourceMap,
                prefixLines: PREFIX_LINES,
                firstLineOffset: result.hasToplevelAwait ? WRAPPER_PREFIX.async : WRAPPER_PREFIX.sync,
                codeLines: result.output.split("\n").length,
              }),
            );
          }
          result.output = `${result.output}\n//# sourceURL=${file}`;
        }
        return result;
      },
      inspect: (prevDecl, src, position) => this.compiling(() => inner.inspect(prevDecl, src, position)),
      complete: (prevDecl, src, position) => this.compiling(() => inner.complete(prevDecl, src, position)),
      addModule: (name, content, meta) => this.compiling(() => inner.addModule(name, content, meta)),
      close: () => inner.close(),
    };
  }
}

function emptyCapture(): Capture {
  return { diagnostics: [], errors: [], hasValue: false, value: undefined };
}

function toDiagnostic(d: Diagnostic): CompileDiagnostic {
  return {
    line: d.start.line + 1,
    column: d.start.character + 1,
    endLine: d.end.line + 1,
    endColumn: d.end.character + 1,
    message: d.messageText,
    code: d.code,
    ...(d.fileName ? { file: d.fileName } : {}),
  };
}
