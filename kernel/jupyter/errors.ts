/**
 * What a failed cell shows: Jupyter's `{ ename, evalue, traceback }` for compile
 * errors (pointing at the cell's line, with the line and a marker under it),
 * runtime errors (the user's own stack: Petrel's, tslab's and Node's frames
 * removed, cell files shown as `cell [n]`), interrupts and usage errors of magics.
 */
import { isExecutionFailedError } from "../local/index.js";
import type { CompileDiagnostic } from "./executor.js";
import { plainText } from "./format.js";
import { cleanStack, type CleanStackOptions } from "./stack.js";

/** The content of an `error` message (and of a failed `execute_reply`). */
export interface ErrorContent {
  ename: string;
  evalue: string;
  traceback: string[];
  [key: string]: unknown;
}

/** A mistake in how a magic was used. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** Diagnostics shown per failed cell. */
const MAX_DIAGNOSTICS = 10;
/** Causes followed in a runtime error's `cause` chain. */
const MAX_CAUSES = 3;

/** A cell that did not compile. `label` names the cell ("cell [3]"); `source` is what was compiled. */
export function compileErrorContent(all: readonly CompileDiagnostic[], label: string, source: string): ErrorContent {
  // Type errors after a syntax error are noise: show the syntax errors alone.
  const syntax = all.filter((d) => d.code >= 1000 && d.code < 2000);
  const diagnostics = syntax.length > 0 ? syntax : all;
  const ename = syntax.length > 0 ? "SyntaxError" : "CompileError";
  const lines = source.split("\n");
  const groups: CompileDiagnostic[][] = [];
  for (const raw of diagnostics) {
    const d = raw.file ? raw : clampToSource(raw, lines);
    const last = groups.at(-1)?.[0];
    // tslab splits a chained message ("Type A is not assignable to B. / Property x is missing") into entries at one position.
    if (last && last.line === d.line && last.column === d.column && last.endColumn === d.endColumn && !d.file) groups.at(-1)!.push(d);
    else groups.push([d]);
  }
  const traceback: string[] = [];
  for (const [first, ...rest] of groups.slice(0, MAX_DIAGNOSTICS)) {
    const where = first!.file ? `${first!.file}:${first!.line}:${first!.column}` : `${label}, line ${first!.line}, column ${first!.column}`;
    traceback.push(`${ename}: ${where}: ${first!.message} (TS${first!.code})`);
    for (const more of rest) traceback.push(`  ${more.message}`);
    if (!first!.file) traceback.push(...excerpt(lines, first!));
  }
  if (groups.length > MAX_DIAGNOSTICS) traceback.push(`... and ${groups.length - MAX_DIAGNOSTICS} more`);
  const d = groups[0]![0]!;
  return { ename, evalue: `${d.file ? `${d.file}:` : ""}line ${d.line}: ${d.message}`, traceback };
}

/** tslab compiles a cell with a line of exports after it: problems found there ("'}' expected") belong at the cell's end. */
function clampToSource(d: CompileDiagnostic, lines: readonly string[]): CompileDiagnostic {
  if (d.line <= lines.length) return d;
  const line = lines.length;
  const column = (lines[line - 1] ?? "").length + 1;
  return { ...d, line, column, endLine: line, endColumn: column + 1 };
}

/** The offending line with a marker under the span. */
function excerpt(lines: readonly string[], d: CompileDiagnostic): string[] {
  const text = lines[d.line - 1];
  if (text === undefined) return [];
  const gutter = String(d.line);
  const width = d.endLine === d.line ? Math.max(1, d.endColumn - d.column) : Math.max(1, text.length - d.column + 1);
  return [`  ${gutter} | ${text}`, `  ${" ".repeat(gutter.length)} | ${" ".repeat(Math.max(0, d.column - 1))}${"^".repeat(width)}`];
}

/** A cell (or a task it ran) threw `error`. */
export function runtimeErrorContent(error: unknown, options: CleanStackOptions): ErrorContent {
  if (!isErrorLike(error)) {
    const text = plainText(error);
    return { ename: "Uncaught", evalue: text, traceback: [`Uncaught ${text}`] };
  }
  const ename = typeof error.name === "string" && error.name ? error.name : "Error";
  const evalue = typeof error.message === "string" ? error.message : String(error.message);
  const traceback = cleanStack(stackOf(error, ename, evalue), options);
  if (isExecutionFailedError(error) && typeof error.failure.stack === "string") {
    // The run's own stack is Petrel's engine; what the user needs is where their task failed.
    traceback.push("", `Task error (${error.failure.code}):`, ...cleanStack(error.failure.stack, options));
    return { ename, evalue, traceback };
  }
  let cause = (error as { cause?: unknown }).cause;
  for (let i = 0; i < MAX_CAUSES && cause !== undefined; i++) {
    traceback.push("", "Caused by:", ...(isErrorLike(cause) ? cleanStack(stackOf(cause, String(cause.name), String(cause.message)), options) : [plainText(cause)]));
    cause = isErrorLike(cause) ? (cause as { cause?: unknown }).cause : undefined;
  }
  return { ename, evalue, traceback };
}

/** An interrupted cell (the kernel keeps its state). */
export function interruptedContent(): ErrorContent {
  return { ename: "Interrupted", evalue: "the cell was interrupted", traceback: ["Interrupted: the cell was interrupted (the kernel keeps its state)"] };
}

/** A magic used wrongly. */
export function usageErrorContent(message: string): ErrorContent {
  return { ename: "UsageError", evalue: message, traceback: [`UsageError: ${message}`] };
}

/**
 * The error's stack, without the source excerpt Node prepends to errors thrown
 * through `vm` ("file:line\ncode\n   ^\n\n"): the traceback shows cell lines itself.
 */
function stackOf(error: { stack?: unknown }, name: string, message: string): string {
  const header = message ? `${name}: ${message}` : name;
  if (typeof error.stack !== "string" || !error.stack) return header;
  const at = error.stack.indexOf(`\n\n${header}`);
  return !error.stack.startsWith(header) && at >= 0 ? error.stack.slice(at + 2) : error.stack;
}

function isErrorLike(x: unknown): x is Error {
  return x instanceof Error || (typeof x === "object" && x !== null && "message" in x && "name" in x);
}
