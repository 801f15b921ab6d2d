/**
 * Stack traces that point at cells. Each cell's compiled code runs under its
 * virtual file name (`<dir>/cell-<n>.ts`, via `//# sourceURL`), and the kernel's
 * `Error.prepareStackTrace` maps its frames through the cell's source maps to the
 * lines the user wrote. Every `error.stack` in the kernel process reads that way:
 * tracebacks, failure records of local runs, and the call sites Petrel records for
 * task definitions (which code closures and bundles depend on).
 */
import { SourceMap } from "node:module";

/** A position in a cell (1-based line and column). */
export interface CellPosition {
  line: number;
  column: number;
}

/**
 * Maps a 1-based position in a cell's compiled code to the cell's own position;
 * null for the executor's wrapper around the code (a frame nobody wrote), undefined
 * when unknown.
 */
export type PositionMapper = (line: number, column: number) => CellPosition | null | undefined;

/** What `createCellMapper` needs. */
export interface CellMaps {
  /** The source map from the executed code to the compiled cell. */
  sourceMap: string;
  /** Lines the compiler puts before the cell's source. */
  prefixLines: number;
  /** Characters the executor's wrapper adds before the code on its first line. */
  firstLineOffset: number;
  /** Lines of the compiled code; later lines are the executor's wrapper. */
  codeLines: number;
}

/** A mapper through the cell's source map, parsed on first use: most cells never appear in a stack trace. */
export function createCellMapper(maps: CellMaps): PositionMapper {
  let map: SourceMap | undefined;
  return (line, column) => {
    if (line > maps.codeLines) return null;
    map ??= new SourceMap(JSON.parse(maps.sourceMap) as SourceMapPayload);
    const col = line === 1 ? Math.max(0, column - 1 - maps.firstLineOffset) : column - 1;
    const at = map.findEntry(line - 1, col) as Partial<SourceMapEntry>;
    if (at.originalLine === undefined || at.originalColumn === undefined) return undefined;
    const cellLine = at.originalLine - maps.prefixLines;
    return cellLine < 0 ? undefined : { line: cellLine + 1, column: at.originalColumn + 1 };
  };
}

type SourceMapPayload = ConstructorParameters<typeof SourceMap>[0];

interface SourceMapEntry {
  originalLine: number;
  originalColumn: number;
}

const mappers = new Map<string, PositionMapper>();

/** Registers how frames in `file` (a cell's virtual file) map to the cell's lines. */
export function registerCellMapper(file: string, mapper: PositionMapper): void {
  mappers.set(file, mapper);
}

let installed = false;

/** Installs the kernel's `Error.prepareStackTrace` (V8's format, with cell frames mapped). */
export function installStackTraces(): void {
  if (installed) return;
  installed = true;
  Error.prepareStackTrace = (error: Error, frames: NodeJS.CallSite[]) => {
    const lines = [errorHeader(error)];
    for (const frame of frames) {
      const text = formatFrame(frame);
      if (text !== undefined) lines.push(`    at ${text}`);
    }
    return lines.join("\n");
  };
}

function formatFrame(frame: NodeJS.CallSite): string | undefined {
  const text = String(frame);
  const file = frame.getScriptNameOrSourceURL?.() ?? frame.getFileName();
  const mapper = file ? mappers.get(file) : undefined;
  const line = frame.getLineNumber();
  const column = frame.getColumnNumber();
  if (!mapper || line === null || column === null) return text;
  const at = mapper(line, column);
  if (at === null) return undefined;
  if (!at) return text;
  const compiled = `${file}:${line}:${column}`;
  const i = text.lastIndexOf(compiled);
  return i < 0 ? text : `${text.slice(0, i)}${file}:${at.line}:${at.column}${text.slice(i + compiled.length)}`;
}

function errorHeader(error: unknown): string {
  try {
    return Error.prototype.toString.call(error);
  } catch {
    return "Error";
  }
}

/** Options of `cleanStack`. */
export interface CleanStackOptions {
  /** Frames whose text contains any of these (paths of Petrel's and tslab's own code) are dropped. */
  hide: readonly string[];
  /** How a file should read in a traceback ("cell [3]"); undefined keeps the path. */
  label?: (file: string) => string | undefined;
}

const FRAME = /^\s+at\s/;
const LOCATION = /((?:file:\/\/)?\/[^\s():]+):(\d+):(\d+)/g;

/**
 * The user's own part of a stack: the message, then only frames outside Petrel,
 * tslab and Node's internals, with cell files shown by their labels.
 */
export function cleanStack(stack: string, options: CleanStackOptions): string[] {
  const out: string[] = [];
  for (const line of stack.split("\n")) {
    if (!FRAME.test(line)) {
      out.push(line);
      continue;
    }
    if (/\(node:|at node:|\bnode:internal\b/.test(line) || options.hide.some((h) => line.includes(h))) continue;
    out.push(
      options.label
        ? line.replace(LOCATION, (whole, file: string, l: string, c: string) => {
            const label = options.label!(file);
            return label ? `${label}:${l}:${c}` : whole;
          })
        : line,
    );
  }
  return out;
}
