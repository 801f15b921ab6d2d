// The WorkflowSpec a small workflow compiles to: node ids, kinds, targets,
// bindings and upstream lists, written out in full, then checked to survive
// JSON unchanged, to satisfy the model's JSON Schema and to pass the backend's
// validation (validateWorkflowSpec with interface lookups) after the trip.
import { Ajv2020 } from "ajv/dist/2020.js";
import { describe, expect, it } from "vitest";
import {
  MODEL_SCHEMA,
  launchPlan,
  map,
  modelSchemaRef,
  t,
  task,
  validateWorkflowSpec,
  when,
  workflow,
  type AnyTask,
  type AnyWorkflow,
  type Binding,
  type InterfaceLookup,
  type LaunchPlanSpec,
  type Node,
  type WorkflowSpec,
} from "../../kernel/index.js";

const clean = task({ name: "clean", inputs: { x: t.int() }, outputs: { y: t.int() } }, ({ x }) => ({ y: x }));
const square = task(
  { name: "square", inputs: { v: t.int(), power: t.int().default(2) }, outputs: { out: t.int() } },
  ({ v, power }) => ({ out: v ** power }),
);
const sub = workflow({ name: "sub", inputs: { a: t.int() }, outputs: { b: t.int() } }, ({ a }) => ({ b: clean({ x: a }).y }));
const nightly = launchPlan({ name: "sub-nightly", workflow: sub, defaults: { a: 1 }, schedule: { cron: " 0 2 * * * " } });

const top = workflow(
  {
    name: "top",
    inputs: { xs: t.list(t.int()), n: t.int() },
    outputs: { squares: t.list(t.int()), fromSub: t.int(), fromPlan: t.int() },
    description: "every node kind",
  },
  ({ xs, n }) => {
    const first = clean({ x: n });
    const second = clean({ x: first.y });
    const squares = map(square, { concurrency: 4 })({ v: xs, power: second.y });
    const branch = when(second.y.gt(0))
      .then(() => clean({ x: 1 }))
      .otherwise(() => clean({ x: first.y }));
    const child = sub({ a: branch.y });
    const planned = nightly({}).after(child, squares);
    return { squares: squares.out, fromSub: child.b, fromPlan: planned.b };
  },
);

const INT = { kind: "int" } as const;
const cleanNode = (id: string, x: Binding, upstream: string[]): Node => ({
  kind: "task",
  id,
  target: { resourceType: "task", name: "clean" },
  inputs: { x },
  upstream,
  metadata: { name: "clean" },
  outputs: { y: INT },
});

const EXPECTED_NODES: Node[] = [
  cleanNode("clean", { kind: "input", name: "n" }, []),
  cleanNode("clean-2", { kind: "output", node: "clean", output: "y" }, ["clean"]),
  {
    kind: "map",
    id: "map-square",
    target: { resourceType: "task", name: "square" },
    // v is mapped (a list of the task's int input); power is broadcast whole.
    inputs: { v: { kind: "input", name: "xs" }, power: { kind: "output", node: "clean-2", output: "y" } },
    upstream: ["clean-2"],
    metadata: { name: "square" },
    outputs: { out: { kind: "list", items: INT } },
    mapped: ["v"],
    concurrency: 4,
    minSuccessRatio: 1,
  },
  {
    kind: "branch",
    id: "branch",
    inputs: {},
    // The condition reads clean-2; the otherwise case reads clean.
    upstream: ["clean-2", "clean"],
    metadata: { name: "branch" },
    outputs: { y: INT },
    cases: [
      {
        condition: {
          kind: "compare",
          op: "gt",
          left: { kind: "output", node: "clean-2", output: "y" },
          right: { kind: "literal", literal: { kind: "int", value: "0" } },
        },
        node: cleanNode("clean-3", { kind: "literal", literal: { kind: "int", value: "1" } }, []),
      },
    ],
    otherwise: { node: cleanNode("clean-4", { kind: "output", node: "clean", output: "y" }, ["clean"]) },
  },
  {
    kind: "workflow",
    id: "sub",
    target: { resourceType: "workflow", name: "sub" },
    inputs: { a: { kind: "output", node: "branch", output: "y" } },
    upstream: ["branch"],
    metadata: { name: "sub" },
    outputs: { b: INT },
  },
  {
    kind: "launch_plan",
    id: "sub-nightly",
    target: { resourceType: "launch_plan", name: "sub-nightly" },
    // The plan's default covers `a`, so the call binds nothing; .after() adds pure ordering.
    inputs: {},
    upstream: ["sub", "map-square"],
    metadata: { name: "sub-nightly" },
    outputs: { b: INT },
  },
];

/** What the backend would look up: each node's target interface, from the definitions. */
const lookup: InterfaceLookup = (node: Node) => {
  if (node.kind === "branch") return undefined;
  const { tasks, workflows, launchPlans } = top.entities;
  switch (node.target.resourceType) {
    case "task":
      return (tasks.get(node.target.name) as AnyTask | undefined)?.interface;
    case "workflow":
      return (workflows.get(node.target.name) as AnyWorkflow | undefined)?.interface;
    case "launch_plan":
      return (launchPlans.get(node.target.name) as { workflow: AnyWorkflow } | undefined)?.workflow.interface;
  }
};

const ajv = new Ajv2020({ allErrors: true }).addSchema(MODEL_SCHEMA);

describe("the compiled WorkflowSpec", () => {
  it("lists every node with its kind, id, target, bindings and upstream", () => {
    expect(top.spec.nodes).toStrictEqual(EXPECTED_NODES);
  });

  it("numbers repeated calls clean, clean-2, ... across branch cases", () => {
    const ids = (nodes: Node[]): string[] =>
      nodes.flatMap((n) =>
        n.kind === "branch" ? [n.id, ...ids([...n.cases.map((c) => c.node), ...("node" in n.otherwise ? [n.otherwise.node] : [])])] : [n.id],
      );
    expect(ids(top.spec.nodes)).toEqual(["clean", "clean-2", "map-square", "branch", "clean-3", "clean-4", "sub", "sub-nightly"]);
  });

  it("carries the interface, the output bindings, the failure policy and where it was defined", () => {
    expect(top.spec).toStrictEqual({
      name: "top",
      interface: {
        inputs: { xs: { type: { kind: "list", items: INT } }, n: { type: INT } },
        outputs: { squares: { type: { kind: "list", items: INT } }, fromSub: { type: INT }, fromPlan: { type: INT } },
      },
      nodes: EXPECTED_NODES,
      outputs: {
        squares: { kind: "output", node: "map-square", output: "out" },
        fromSub: { kind: "output", node: "sub", output: "b" },
        fromPlan: { kind: "output", node: "sub-nightly", output: "b" },
      },
      failurePolicy: "fail_immediately",
      description: "every node kind",
      source: expect.stringMatching(/spec-shape\.test\.ts:\d+$/) as unknown as string,
    } satisfies WorkflowSpec);
  });

  it("compiles the subworkflow and the launch plan to their own specs", () => {
    expect(sub.spec.nodes).toStrictEqual([cleanNode("clean", { kind: "input", name: "a" }, [])]);
    expect(sub.spec.outputs).toStrictEqual({ b: { kind: "output", node: "clean", output: "y" } });
    expect(nightly.spec).toStrictEqual({
      name: "sub-nightly",
      workflow: { resourceType: "workflow", name: "sub" },
      defaultInputs: { a: { kind: "int", value: "1" } },
      fixedInputs: {},
      schedule: { kind: "cron", expression: "0 2 * * *" },
      labels: {},
    } satisfies LaunchPlanSpec);
    expect(square.spec.interface.inputs.power).toStrictEqual({ type: INT, default: { kind: "int", value: "2" } });
  });

  it("records every entity the workflow needs, transitively", () => {
    expect([...top.entities.tasks.keys()].sort()).toEqual(["clean", "square"]);
    expect([...top.entities.workflows.keys()].sort()).toEqual(["sub", "top"]);
    expect([...top.entities.launchPlans.keys()]).toEqual(["sub-nightly"]);
  });

  it("round trips through JSON.stringify and JSON.parse unchanged", () => {
    const text = JSON.stringify(top.spec);
    const parsed = JSON.parse(text) as WorkflowSpec;
    expect(parsed).toStrictEqual(top.spec);
    expect(JSON.stringify(parsed)).toBe(text);
    expect(JSON.parse(JSON.stringify(nightly.spec))).toStrictEqual(nightly.spec);
  });

  it("satisfies the model's JSON Schema", () => {
    const validWorkflow = ajv.getSchema(modelSchemaRef("WorkflowSpec"))!;
    const validPlan = ajv.getSchema(modelSchemaRef("LaunchPlanSpec"))!;
    const validTask = ajv.getSchema(modelSchemaRef("TaskSpec"))!;
    for (const [what, validate, value] of [
      ["top", validWorkflow, top.spec],
      ["sub", validWorkflow, sub.spec],
      ["sub-nightly", validPlan, nightly.spec],
      ["clean", validTask, clean.spec],
      ["square", validTask, square.spec],
    ] as const) {
      expect(validate(JSON.parse(JSON.stringify(value))), `${what}: ${JSON.stringify(validate.errors)}`).toBe(true);
    }
  });

  it("passes the backend's validation after the JSON trip, with every target's interface looked up", () => {
    const parsed = JSON.parse(JSON.stringify(top.spec)) as WorkflowSpec;
    expect(() => validateWorkflowSpec(parsed, lookup)).not.toThrow();
    for (const node of parsed.nodes) if (node.kind !== "branch") expect(lookup(node), node.id).toBeDefined();
  });

  it("is the same spec when the same definition is compiled twice", () => {
    const again = workflow(
      { name: "top", inputs: { xs: t.list(t.int()), n: t.int() }, outputs: { squares: t.list(t.int()) } },
      ({ xs, n }) => ({ squares: map(square, { concurrency: 4 })({ v: xs, power: clean({ x: n }).y }).out }),
    );
    const twice = workflow(
      { name: "top", inputs: { xs: t.list(t.int()), n: t.int() }, outputs: { squares: t.list(t.int()) } },
      ({ xs, n }) => ({ squares: map(square, { concurrency: 4 })({ v: xs, power: clean({ x: n }).y }).out }),
    );
    const { source: _a, ...one } = again.spec;
    const { source: _b, ...two } = twice.spec;
    expect(one).toStrictEqual(two);
  });
});
