/**
 * Pipelines the console tests run on a real backend: a DataFrame output long
 * enough to page through, a task that prints what it is given to its log and
 * returns it, a subworkflow and a map to expand, a task that fails with the
 * message it is given, and a nap to catch an execution running.
 */
import { tableFromArrays } from "apache-arrow";
import { launchPlan, map, t, task, when, workflow } from "../../kernel/index.js";

/** `rows` rows: i, name (`row_<i>`), value (i / 2). */
export const makeTable = task({ name: "make_table", inputs: { rows: t.int() }, outputs: { df: t.dataframe() } }, ({ rows }) => {
  const i = Array.from({ length: rows }, (_, k) => k);
  return { df: tableFromArrays({ i: Float64Array.from(i), name: i.map((k) => `row_${k}`), value: Float64Array.from(i.map((k) => k / 2)) }) };
});

/** Prints the text to its log and returns it. */
export const shout = task({ name: "shout", inputs: { text: t.string() }, outputs: { echo: t.string() } }, ({ text }) => {
  console.log(`shouting: ${text}`);
  return { echo: text };
});

export const double = task({ name: "double", inputs: { x: t.int() }, outputs: { y: t.int() } }, ({ x }) => ({ y: x * 2 }));

/** A two-node subworkflow. */
export const pair = workflow({ name: "pair", inputs: { a: t.int() }, outputs: { y: t.int() } }, ({ a }) => {
  const first = double({ x: a });
  return double({ x: first.y });
});

export const nap = task({ name: "nap", inputs: { ms: t.int() }, outputs: { slept: t.int() } }, async ({ ms }) => {
  console.log(`napping ${ms} ms`);
  await new Promise((r) => setTimeout(r, ms));
  return { slept: ms };
});

/** Fails with the reason it is given. */
export const explode = task({ name: "explode", inputs: { why: t.string() }, outputs: { n: t.int() } }, ({ why }) => {
  throw new Error(`exploded: ${why}`);
});

/** Every kind of thing the execution page shows: a DataFrame, a string, a subworkflow, a map, a branch. */
export const consoleDemo = workflow(
  {
    name: "console_demo",
    inputs: { rows: t.int().default(120), text: t.string().default("hello"), ms: t.int().default(10) },
    outputs: { df: t.dataframe(), echo: t.string(), paired: t.int(), slept: t.int(), picked: t.int() },
  },
  ({ rows, text, ms }) => {
    const table = makeTable({ rows });
    const said = shout({ text });
    map(double)({ x: [1, 2, 3] });
    const paired = pair({ a: 2 });
    const slept = nap({ ms }).after(table);
    const picked = when(rows.gt(100))
      .then(() => double({ x: rows }))
      .otherwise(() => double({ x: 0 }));
    return { df: table.df, echo: said.echo, paired: paired.y, slept: slept.slept, picked: picked.y };
  },
);

/** Says it dozes off, sleeps, says it woke up, and lingers two seconds more: its log grows while it runs. */
export const doze = task({ name: "doze", inputs: { ms: t.int() }, outputs: { slept: t.int() } }, async ({ ms }) => {
  console.log(`dozing off for ${ms} ms`);
  await new Promise((r) => setTimeout(r, ms));
  console.log("woke up");
  await new Promise((r) => setTimeout(r, 2_000));
  return { slept: ms };
});

export const napFlow = workflow({ name: "nap_flow", inputs: { ms: t.int() }, outputs: { slept: t.int() } }, ({ ms }) => doze({ ms }));

export const failFlow = workflow({ name: "fail_flow", inputs: { why: t.string() }, outputs: { n: t.int() } }, ({ why }) => explode({ why }));

/** Hourly, so the domain page has a schedule to show. */
export const hourly = launchPlan({ name: "hourly_demo", workflow: consoleDemo, schedule: { cron: "0 * * * *" } });
