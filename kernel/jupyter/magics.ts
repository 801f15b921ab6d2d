/**
 * Line magics: `%name args` on a line of their own. They are blanked out (same
 * length, so positions and line numbers stay put) before the cell is compiled, so
 * completion and type-checking of the rest of the cell keep working; they run after
 * the cell's code, in order.
 *
 * - `%petrel run <workflow> [json inputs]`: a local run with live progress.
 * - `%petrel bundle <names...>`: what a bundle of these entities would ship, and its hash.
 */
import { isExecutionFailedError } from "../local/index.js";
import type { RunRecord } from "../local/index.js";
import { bundleApi, type CellRegistry } from "./cells.js";
import { display } from "./display.js";
import { UsageError } from "./errors.js";
import { isRun, isWorkflow } from "./format.js";
import { RunProgress } from "./progress.js";

/** One magic line. */
export interface Magic {
  /** 1-based line in the cell. */
  line: number;
  name: string;
  /** Everything after the name, trimmed. */
  args: string;
}

/** The magics that exist, as their usage lines. */
export const MAGIC_USAGE: readonly string[] = [
  "%petrel run <workflow> [json inputs]  run a workflow or task locally, with live progress",
  "%petrel bundle <names...>             show what a bundle of these entities would ship, and its hash",
];

const MAGIC_LINE = /^[ \t]*%([A-Za-z][\w-]*)(?:[ \t]+(.*?))?[ \t]*$/;

/** The cell with its magic lines blanked out, and the magics. */
export function splitMagics(code: string): { code: string; magics: Magic[] } {
  const magics: Magic[] = [];
  const lines = code.split("\n").map((text, i) => {
    const m = MAGIC_LINE.exec(text.replace(/\r$/, ""));
    if (!m) return text;
    magics.push({ line: i + 1, name: m[1]!, args: m[2] ?? "" });
    return " ".repeat(text.length);
  });
  return { code: magics.length ? lines.join("\n") : code, magics };
}

/**
 * A `%petrel` subcommand that a library adds to the kernel (the remote client adds
 * connect, register, run-remote, promote and fetch), so the kernel needs no import
 * of it. Its usage line is listed with the built-in ones.
 */
export interface MagicExtension {
  /** The subcommand: `%petrel <name> …`. */
  name: string;
  /** `%petrel <name> <args>  what it does`. */
  usage: string;
  run(args: string, ctx: MagicContext): Promise<void>;
}

/** What magics work on. */
export interface MagicContext {
  /** The notebook's top-level declarations. */
  locals: Record<string, unknown>;
  cells: CellRegistry;
  /** Aborted when the cell is interrupted. */
  signal: AbortSignal;
}

/** The magics of one session: the built-in ones and the extensions'. */
export class Magics {
  private readonly extensions = new Map<string, MagicExtension>();

  constructor(extensions: readonly MagicExtension[] = []) {
    for (const e of extensions) {
      if (e.name === "run" || e.name === "bundle") throw new Error(`a magic extension cannot replace %petrel ${e.name}`);
      this.extensions.set(e.name, e);
    }
  }

  /** Every magic's usage line. */
  usage(): string[] {
    return [...MAGIC_USAGE, ...[...this.extensions.values()].map((e) => e.usage)];
  }

  /** The subcommands. */
  names(): string[] {
    return ["run", "bundle", ...this.extensions.keys()];
  }

  /** Throws a UsageError listing the magics that exist when `magic` is not one of them. */
  check(magic: Magic): void {
    const sub = magic.args.split(/\s+/)[0];
    if (magic.name === "petrel" && sub && this.names().includes(sub)) return;
    const what = magic.name === "petrel" ? `%petrel ${sub || ""}`.trim() : `%${magic.name}`;
    throw new UsageError(`unknown magic ${what} (line ${magic.line}). Magics:\n  ${this.usage().join("\n  ")}`);
  }

  /** Runs one (checked) magic; throws what the cell should fail with. */
  async run(magic: Magic, ctx: MagicContext): Promise<void> {
    const [sub, ...rest] = magic.args.split(/\s+/);
    const args = magic.args.slice(sub!.length).trim();
    if (sub === "run") return runLocal(args, ctx);
    if (sub === "bundle") return showBundle(rest.filter(Boolean), ctx);
    const extension = this.extensions.get(sub!);
    if (extension) return extension.run(args, ctx);
    this.check(magic);
  }
}

interface Runnable {
  kind: "workflow" | "task";
  name: string;
  spec?: { nodes?: { id: string }[] };
  run(inputs: unknown, options: { onEvent: (e: never) => void; signal: AbortSignal }): Promise<unknown>;
}

function isRunnable(x: unknown): x is Runnable {
  if ((typeof x !== "function" && typeof x !== "object") || x === null) return false;
  const v = x as Partial<Runnable>;
  return (v.kind === "workflow" || v.kind === "task") && typeof v.run === "function";
}

async function runLocal(args: string, ctx: MagicContext): Promise<void> {
  const m = /^([A-Za-z_$][\w$]*)(?:\s+([\s\S]+))?$/.exec(args);
  if (!m) throw new UsageError(`usage: ${MAGIC_USAGE[0]}`);
  const [, name, json] = m as unknown as [string, string, string | undefined];
  const target = ctx.locals[name];
  if (!isRunnable(target)) {
    const defined = Object.keys(ctx.locals).filter((k) => isRunnable(ctx.locals[k]));
    throw new UsageError(
      `%petrel run: ${target === undefined ? `nothing named ${name} is defined` : `${name} is not a workflow or task`}; ` +
        `workflows and tasks defined: ${defined.join(", ") || "none"}`,
    );
  }
  let inputs: unknown = {};
  if (json !== undefined) {
    try {
      inputs = JSON.parse(json);
    } catch (e) {
      throw new UsageError(`%petrel run ${name}: the inputs are not valid JSON (${(e as Error).message}): ${json}`);
    }
    if (typeof inputs !== "object" || inputs === null || Array.isArray(inputs)) {
      throw new UsageError(`%petrel run ${name}: the inputs must be a JSON object of input names to values, got ${json}`);
    }
  }
  const nodes = isWorkflow(target) ? target.spec.nodes.map((n) => n.id) : [target.name];
  const progress = new RunProgress(`${target.kind} ${target.name}`, nodes, display.create());
  try {
    const run = await target.run(inputs, { onEvent: (e: never) => progress.onEvent(e), signal: ctx.signal });
    progress.finish(isRun(run) ? run.record : undefined);
  } catch (e) {
    const partial = isExecutionFailedError(e) ? ((e as { result?: unknown }).result ?? { record: e.run }) : undefined;
    progress.finish(isRun(partial) ? (partial.record as RunRecord) : undefined, e);
    throw e;
  }
}

async function showBundle(names: string[], ctx: MagicContext): Promise<void> {
  if (names.length === 0) throw new UsageError(`usage: ${MAGIC_USAGE[1]}`);
  const missing = names.filter((n) => !(n in ctx.locals));
  if (missing.length) throw new UsageError(`%petrel bundle: not defined in this notebook: ${missing.join(", ")}`);
  // INTEGRATION POINT (issue 3): kernel/bundle's buildBundle, reading the cells the kernel recorded.
  const { buildBundle } = bundleApi();
  if (!buildBundle || !ctx.cells.sources) {
    throw new UsageError("%petrel bundle is not available yet: this build of Petrel has no bundle builder (kernel/bundle buildBundle)");
  }
  const roots = Object.fromEntries(names.map((n) => [n, ctx.locals[n]]));
  const bundle = await Promise.resolve(buildBundle(roots, { sources: ctx.cells.sources }));
  display.text(bundle.toString());
}
