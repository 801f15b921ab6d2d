/**
 * Running definitions locally: inputs are converted exactly as a remote execution
 * would convert them, the local engine runs the DAG, and the result is a run
 * record with typed outputs.
 */
import {
  compileLocalOptions,
  executeWorkflow,
  isExecutionFailedError,
  type LocalEntities,
  type LocalEnvironment,
  type LocalRunOptions,
  type NodeRecord,
  type RunRecord,
} from "../local/index.js";
import type { Literal, TypedInterface, WorkflowSpec } from "../model/index.js";
import type { ValueHints } from "../types/index.js";
import { renderRunTable } from "./render.js";

/** A run's record, with values converted on request (a failed run's record is one of these). */
export class PartialRun {
  constructor(
    readonly record: RunRecord,
    protected readonly env: LocalEnvironment,
  ) {}

  get id(): string {
    return this.record.id;
  }
  get phase(): RunRecord["phase"] {
    return this.record.phase;
  }
  get durationMs(): number | undefined {
    return this.record.durationMs;
  }
  /** Every node's record: inputs, outputs (as literals), timings, attempts, cache status. */
  get nodes(): Record<string, NodeRecord> {
    return this.record.nodes;
  }

  /** A node's output (or input) as a JS value; DataFrames as danfo by default or as Arrow. */
  value(node: string, name: string, options: { from?: "outputs" | "inputs"; as?: "danfo" | "arrow" } = {}): unknown {
    const rec = findNode(this.record, node);
    if (!rec) throw new RangeError(`run ${this.id} has no node ${node} (nodes: ${Object.keys(this.record.nodes).join(", ")})`);
    const what = options.from === "inputs" ? "input" : "output";
    const lit: Literal | undefined = rec[options.from ?? "outputs"]?.[name];
    if (!lit) throw new RangeError(`node ${node} has no ${what} ${name}`);
    return literalToValue(lit, this.env, `${what} ${name} of node ${node}`, options.as);
  }

  /** The node table, for terminals. */
  toString(): string {
    return renderRunTable(this.record);
  }
}

/** The result of a successful local run: its record plus typed outputs, converted on creation. */
export class WorkflowRun<O> extends PartialRun {
  /** Output values, as a downstream task would receive them. */
  readonly outputs: O;

  constructor(record: RunRecord, env: LocalEnvironment, iface: TypedInterface, hints: Record<string, ValueHints> = {}) {
    super(record, env);
    const outputs: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(iface.outputs)) {
      const lit = record.outputs?.[k];
      if (!lit) continue;
      outputs[k] = env.engine.toValue(lit, v.type, { blobs: env.blobs, where: `output ${k} of run ${record.id}`, hints: hints[k] });
    }
    this.outputs = outputs as O;
  }
}

function findNode(record: RunRecord, id: string): NodeRecord | undefined {
  const direct = record.nodes[id];
  if (direct) return direct;
  for (const n of Object.values(record.nodes)) {
    for (const c of n.children ?? []) if (c.id === id) return c;
    if (n.run) {
      const inner = findNode(n.run, id.startsWith(`${n.id}.`) ? id.slice(n.id.length + 1) : id);
      if (inner) return inner;
    }
  }
  return undefined;
}

/** Converts a literal without a declared type: scalars, lists and maps by kind, DataFrames by format. */
function literalToValue(lit: Literal, env: LocalEnvironment, where: string, as?: "danfo" | "arrow"): unknown {
  const ctx = { blobs: env.blobs, where, ...(as ? { hints: { dataframe: as } } : {}) };
  switch (lit.kind) {
    case "blob":
      return env.engine.toValue(lit, lit.blob.format === "arrow" ? { kind: "dataframe" } : { kind: lit.blob.format }, ctx);
    case "list":
      return lit.items.map((l, i) => literalToValue(l, env, `${where}[${i}]`, as));
    case "map":
      return Object.fromEntries(Object.entries(lit.entries).map(([k, l]) => [k, literalToValue(l, env, `${where}.${k}`, as)]));
    case "union":
      return literalToValue(lit.value, env, where, as);
    case "none":
      return null;
    default:
      return env.engine.toValue(lit, { kind: lit.kind }, ctx);
  }
}

/** Runs a compiled workflow locally with JS input values. */
export async function runLocally<O>(
  spec: WorkflowSpec,
  entities: LocalEntities,
  inputs: Record<string, unknown>,
  options: LocalRunOptions,
  outputHints: Record<string, ValueHints>,
): Promise<WorkflowRun<O>> {
  const env = compileLocalOptions(options, entities);
  const literals = env.engine.toLiteralMap(inputs ?? {}, spec.interface.inputs, {
    blobs: env.blobs,
    where: `workflow ${spec.name}`,
    what: "input",
  });
  try {
    const record = await executeWorkflow(spec, literals, env, options.runId);
    return new WorkflowRun<O>(record, env, spec.interface, outputHints);
  } catch (e) {
    if (isExecutionFailedError(e)) {
      // Keep the record reachable with its converted-value helpers.
      Object.defineProperty(e, "result", { value: new PartialRun(e.run as RunRecord, env), enumerable: false });
    }
    throw e;
  }
}
