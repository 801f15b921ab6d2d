// Every marked line is a TypeScript error. test/dsl/static-types.test.ts removes
// the markers, compiles, and checks that the line below each one fails with the
// code (and the message fragment, when quoted) written after @ts-expect-error.
// With the markers in place the file compiles cleanly, and an unused marker
// fails `tsc -p tsconfig.json` (npm run lint) as well as that test.
import { launchPlan, map, t, task, when, workflow } from "../../../kernel/index.js";

const add = task(
  { name: "add", inputs: { a: t.int(), b: t.int() }, outputs: { sum: t.int() } },
  ({ a, b }) => ({ sum: a + b }),
);

const label = task(
  { name: "label", inputs: { n: t.int() }, outputs: { text: t.string() } },
  ({ n }) => ({ text: String(n) }),
);

export const badBindings = workflow(
  { name: "bad-bindings", inputs: { s: t.string(), n: t.int() }, outputs: { out: t.int() } },
  ({ s, n }) => {
    // @ts-expect-error TS2322 "Handle<string>" -- a string handle bound to an int input
    add({ a: s, b: n });
    // @ts-expect-error TS2322 "Type 'string' is not assignable" -- a string literal passed to an int input
    add({ a: "1", b: n });
    // @ts-expect-error TS2353 "'c' does not exist" -- an input the task does not declare
    add({ a: n, b: n, c: n });
    // @ts-expect-error TS2741 "Property 'b' is missing" -- required input b is not bound
    add({ a: n });
    return { out: add({ a: n, b: 1 }).sum };
  },
);

export const badReturn = task(
  { name: "bad-return", inputs: { a: t.int() }, outputs: { out: t.int() } },
  // @ts-expect-error TS2322 "Type 'string' is not assignable" -- the task returns a string for an int output
  ({ a }) => ({ out: String(a) }),
);

export const badWorkflowOutput = workflow(
  { name: "bad-output", inputs: { s: t.string() }, outputs: { out: t.int() } },
  // @ts-expect-error TS2322 "Handle<string>" -- a string handle returned as an int workflow output
  ({ s }) => ({ out: s }),
);

export const badBranch = workflow(
  { name: "bad-branch", inputs: { n: t.int() }, outputs: { sum: t.int() } },
  ({ n }) => {
    const r = when(n.gt(0))
      .then(() => add({ a: n, b: 1 }))
      // @ts-expect-error TS2322 -- the fallback case has different outputs from the first case
      .otherwise(() => label({ n }));
    return { sum: r.sum };
  },
);

export const badMapAndCondition = workflow(
  { name: "bad-map", inputs: { words: t.list(t.string()), n: t.int() }, outputs: {} },
  ({ words, n }) => {
    // @ts-expect-error TS2322 "Handle<string[]>" -- a list of strings mapped over an int input
    map(add)({ a: words, b: n });
    // @ts-expect-error TS2345 "Operand<number>" -- an int handle compared with a string
    when(n.eq("3")).then(() => add({ a: n, b: n })).fail("no match");
    return {};
  },
);

// @ts-expect-error TS2345 -- a default of the wrong type
export const badDefault = t.int().default("18");

const planned = workflow(
  { name: "planned", inputs: { n: t.int(), at: t.datetime() }, outputs: {} },
  () => ({}),
);

export const badPlans = [
  // @ts-expect-error TS2353 "'m' does not exist" -- a default for an input the workflow does not declare
  launchPlan({ name: "p1", workflow: planned, defaults: { m: 1 } }),
  // @ts-expect-error TS2322 -- a fixed value of the wrong type
  launchPlan({ name: "p2", workflow: planned, fixed: { n: "one" } }),
  // @ts-expect-error TS2322 -- kickoffInput names no input of the workflow
  launchPlan({ name: "p3", workflow: planned, schedule: { cron: "@daily", kickoffInput: "start" } }),
];
