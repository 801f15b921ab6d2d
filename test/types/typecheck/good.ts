// Must compile with no diagnostics (test/dsl/static-types.test.ts, and `tsc -p
// tsconfig.json` through npm run lint). Types are pinned with Equals, so a type
// that silently widens to any or unknown fails as surely as one that is wrong.
import type { Table } from "apache-arrow";
import type { DataFrame } from "danfojs-node";
import { launchPlan, map, t, task, when, workflow, type Handle, type WorkflowRun } from "../../../kernel/index.js";

/** True when X and Y are the same type (not merely mutually assignable). */
type Equals<X, Y> = (<T>() => T extends X ? 1 : 2) extends <T>() => T extends Y ? 1 : 2 ? true : false;
/** `typeOf(x).is<T>()` compiles only when x's type is exactly T (else it demands an argument). */
function typeOf<V>(_value: V) {
  return { is<T>(..._exactly: Equals<V, T> extends true ? [] : [never]): void {} };
}

export const clean = task(
  {
    name: "clean",
    inputs: { raw: t.dataframe({ columns: { age: "int" } }), minAge: t.int().default(18), note: t.optional(t.string()) },
    outputs: { df: t.dataframe(), rows: t.int() },
  },
  ({ raw, minAge, note }) => {
    typeOf(raw).is<DataFrame>();
    typeOf(minAge).is<number>();
    typeOf(note).is<string | null>();
    return { df: raw, rows: raw.shape[0]! };
  },
);

export const summarize = task(
  { name: "summarize", inputs: { table: t.dataframe({ as: "arrow" }) }, outputs: { rows: t.int(), df: t.dataframe() } },
  ({ table }) => {
    typeOf(table).is<Table>();
    // An output DataFrame may be returned as danfo or as Arrow.
    return { rows: table.numRows, df: table };
  },
);

export const scalars = task(
  {
    name: "scalars",
    inputs: {
      when: t.datetime(),
      tags: t.list(t.string()),
      weights: t.map(t.float()),
      point: t.struct({ x: t.float(), y: t.float() }),
      mode: t.enum(["fast", "slow"]),
      either: t.union(t.int(), t.string()),
      doc: t.json<{ k: string }>(),
      report: t.file(),
      folder: t.dir(),
    },
    outputs: { at: t.datetime(), count: t.int(), weights: t.map(t.float()) },
  },
  ({ when, tags, weights, point, mode, either, doc, report, folder }) => {
    typeOf(when).is<Date>();
    typeOf(tags).is<string[]>();
    typeOf(weights).is<Record<string, number>>();
    typeOf(point).is<{ x: number; y: number }>();
    typeOf(mode).is<"fast" | "slow">();
    typeOf(either).is<number | string>();
    typeOf(doc).is<{ k: string }>();
    typeOf(report).is<string>();
    typeOf(folder).is<string>();
    // Outputs accept the wider forms: an ISO string for a datetime, a bigint for an int, a Map for a map.
    return { at: when.toISOString(), count: BigInt(tags.length), weights: new Map(Object.entries(weights)) };
  },
);

export const square = task(
  { name: "square", inputs: { v: t.int(), power: t.int().default(2) }, outputs: { out: t.int() } },
  ({ v, power }) => ({ out: v ** power }),
);

export const sub = workflow(
  { name: "sub", inputs: { raw: t.dataframe() }, outputs: { rows: t.int() } },
  ({ raw }) => ({ rows: clean({ raw }).rows }),
);

export const plan = launchPlan({
  name: "sub-daily",
  workflow: sub,
  schedule: { cron: "0 3 * * *", timezone: "Europe/Paris" },
});

export const pipeline = workflow(
  {
    name: "pipeline",
    inputs: { raw: t.dataframe(), xs: t.list(t.int()), minAge: t.int().default(21), flag: t.bool() },
    outputs: { squares: t.list(t.int()), maybe: t.list(t.optional(t.int())), rows: t.int(), total: t.int(), df: t.dataframe() },
  },
  ({ raw, xs, minAge, flag }) => {
    typeOf(xs).is<Handle<number[]>>();
    // minAge has a default in clean: it may be omitted, or bound to a handle or a constant.
    const a = clean({ raw });
    const b = clean({ raw: a.df, minAge, note: "second pass" });
    typeOf(b.rows).is<Handle<number>>();

    const squares = map(square)({ v: xs });
    typeOf(squares.out).is<Handle<number[]>>();
    const lenient = map(square, { minSuccessRatio: 0.5 })({ v: xs, power: 3 });
    typeOf(lenient.out).is<Handle<(number | null)[]>>();

    const branch = when(a.rows.gt(10))
      .then(() => clean({ raw: b.df }))
      .when(flag.isTrue())
      .then(() => clean({ raw: a.df, minAge: 30 }))
      .otherwise(() => clean({ raw }));
    typeOf(branch.rows).is<Handle<number>>();
    typeOf(branch.df).is<Handle<DataFrame>>();

    const s = summarize({ table: branch.df });
    const child = sub({ raw: s.df });
    const scheduled = plan({}).after(child);
    typeOf(scheduled.rows).is<Handle<number>>();

    // A list input may mix handles and constants.
    const more = map(square)({ v: [child.rows, scheduled.rows, 4] });
    return { squares: more.out, maybe: lenient.out, rows: branch.rows, total: s.rows, df: b.df };
  },
);

export async function runs(raw: DataFrame, table: Table): Promise<void> {
  // Inputs with defaults may be omitted; a DataFrame input takes danfo or Arrow.
  const run = await pipeline.run({ raw, xs: [1, 2n], flag: true });
  typeOf(run).is<WorkflowRun<{ squares: number[]; maybe: (number | null)[]; rows: number; total: number; df: DataFrame }>>();
  await pipeline.run({ raw: table, xs: [], flag: false, minAge: 5 });
  const alone = await summarize.run({ table: raw });
  typeOf(alone.outputs.df).is<DataFrame>();
  await plan.run();
}
