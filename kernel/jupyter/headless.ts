/**
 * Runs a notebook without Jupyter: every code cell, in order, through the same
 * session a kernel runs (tslab's engine, Petrel's display, magics), collecting the
 * outputs into the notebook as nbformat 4 outputs, like `jupyter nbconvert
 * --execute`. `petrel register notebook.ipynb` uses it to get the live entities
 * and the cells their bundle is built from.
 */
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import type { CellRegistry } from "./cells.js";
import type { MagicExtension } from "./magics.js";
import { splitMagics } from "./magics.js";
import type { Request } from "./server.js";
import type { SessionServer } from "./session.js";
import { createHeader, type Content, type Message } from "./wire.js";

/** An nbformat 4 output. */
export type NotebookOutput = Record<string, unknown> & { output_type: string };

/** An nbformat 4 cell (the fields this runner reads and writes). */
export interface NotebookCell {
  cell_type: string;
  source: string | string[];
  metadata?: Record<string, unknown>;
  outputs?: NotebookOutput[];
  execution_count?: number | null;
}

/** An nbformat 4 notebook. */
export interface NotebookDocument {
  cells: NotebookCell[];
  metadata?: Record<string, unknown>;
  nbformat: number;
  nbformat_minor: number;
}

/** Options of {@link runNotebook}. */
export interface RunNotebookOptions {
  /** The folder cells run in (default: the notebook's). */
  cwd?: string;
  /** `%petrel` subcommands added by libraries. */
  magics?: readonly MagicExtension[];
  /** Blank out magic lines instead of running them (what registering a notebook wants). */
  skipMagics?: boolean;
  /** Keep going after a cell fails (default: stop there, as nbconvert does). */
  allowErrors?: boolean;
  /** Called before each code cell runs. */
  onCell?: (index: number, total: number, source: string) => void;
}

/** A notebook that ran. */
export interface NotebookRun {
  /** The notebook with its outputs and execution counts filled in. */
  notebook: NotebookDocument;
  /** The first failing cell (index among all cells), when one failed. */
  error?: { cell: number; ename: string; evalue: string; traceback: string[] };
  /** The notebook's top-level declarations after the run. */
  locals: Record<string, unknown>;
  /** The cells that ran: the sources a bundle is built from. */
  cells: CellRegistry;
  /** Releases the session's hooks (stdout capture, require hook). */
  close(): void;
}

/** Reads and checks an .ipynb file. */
export function readNotebook(file: string): NotebookDocument {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    throw new Error(`${file} is not a notebook: ${(e as Error).message}`);
  }
  const nb = parsed as Partial<NotebookDocument>;
  if (typeof nb !== "object" || nb === null || !Array.isArray(nb.cells) || nb.nbformat !== 4) {
    throw new Error(`${file} is not an nbformat 4 notebook (no "cells" list, or nbformat is not 4)`);
  }
  return nb as NotebookDocument;
}

const sourceOf = (cell: NotebookCell) => (Array.isArray(cell.source) ? cell.source.join("") : cell.source);

/** Collects what a session publishes as one cell's nbformat outputs. */
class Collector implements SessionServer {
  outputs: NotebookOutput[] = [];
  private clearOnNext = false;

  publish(_parent: Message | undefined, msgType: string, content: Content): Promise<boolean> {
    if (msgType === "clear_output") {
      if (content.wait) this.clearOnNext = true;
      else this.outputs = [];
      return Promise.resolve(true);
    }
    if (msgType === "update_display_data") {
      const id = (content.transient as { display_id?: string } | undefined)?.display_id;
      for (const o of this.outputs) if (o.display_id === id) Object.assign(o, { data: content.data, metadata: content.metadata ?? {} });
      return Promise.resolve(true);
    }
    if (msgType === "execute_input" || msgType === "status") return Promise.resolve(true);
    if (this.clearOnNext) {
      this.outputs = [];
      this.clearOnNext = false;
    }
    const last = this.outputs.at(-1);
    if (msgType === "stream") {
      if (last?.output_type === "stream" && last.name === content.name) last.text = String(last.text) + String(content.text);
      else this.outputs.push({ output_type: "stream", name: content.name, text: content.text });
    } else if (msgType === "display_data") {
      const id = (content.transient as { display_id?: string } | undefined)?.display_id;
      // display_id is kept on the object (not serialized) so updates find their output.
      const output: NotebookOutput = { output_type: "display_data", data: content.data, metadata: content.metadata ?? {} };
      if (id) Object.defineProperty(output, "display_id", { value: id, enumerable: false });
      this.outputs.push(output);
    } else if (msgType === "execute_result") {
      this.outputs.push({ output_type: "execute_result", data: content.data, metadata: content.metadata ?? {}, execution_count: content.execution_count });
    } else if (msgType === "error") {
      this.outputs.push({ output_type: "error", ename: content.ename, evalue: content.evalue, traceback: content.traceback });
    }
    return Promise.resolve(true);
  }

  abortQueuedExecutions(): Promise<number> {
    return Promise.resolve(0);
  }
}

/**
 * Runs a notebook's code cells in order and returns it with its outputs, its
 * declarations and its cells. The caller closes the run when done with them.
 */
export async function runNotebook(file: string, options: RunNotebookOptions = {}): Promise<NotebookRun> {
  const path = resolve(file);
  const notebook = readNotebook(path);
  const { Session } = await import("./session.js");
  const collector = new Collector();
  const session = new Session({ server: collector, cwd: options.cwd ?? dirname(path), ...(options.magics ? { magics: options.magics } : {}) });
  const code = notebook.cells.filter((c) => c.cell_type === "code");
  let error: NotebookRun["error"];
  let n = 0;
  for (const [index, cell] of notebook.cells.entries()) {
    if (cell.cell_type !== "code") continue;
    const source = options.skipMagics ? splitMagics(sourceOf(cell)).code : sourceOf(cell);
    options.onCell?.(n++, code.length, source);
    collector.outputs = [];
    const request = { header: createHeader("execute_request", "headless"), parent_header: {}, metadata: {}, content: { code: source, silent: false, store_history: true }, identities: [], buffers: [], channel: "shell" };
    const reply = (await session.handlers.execute_request!(request as unknown as Request)) as Content;
    cell.outputs = collector.outputs;
    cell.execution_count = reply.execution_count as number;
    if (reply.status === "error" && !error) {
      error = { cell: index, ename: String(reply.ename), evalue: String(reply.evalue), traceback: (reply.traceback as string[]) ?? [] };
      if (!options.allowErrors) break;
    }
  }
  return { notebook, ...(error ? { error } : {}), locals: session.locals, cells: session.cellRegistry, close: () => session.close() };
}
