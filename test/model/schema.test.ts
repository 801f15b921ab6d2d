// The model's JSON Schema against the model's TypeScript types. Every sample is
// typed with the interface it claims to be, so a field the types allow but the
// schema rejects fails here at run time, and a field the schema expects but the
// types lack fails at compile time; the type-level section at the end ties each
// closed object's properties and required list to its interface.
import { Ajv2020 } from "ajv/dist/2020.js";
import type { ErrorObject } from "ajv/dist/2020.js";
import fc from "fast-check";
import { describe, expect, expectTypeOf, it } from "vitest";
import {
  COLUMN_KINDS,
  MODEL_SCHEMA,
  MODEL_SCHEMA_ID,
  SCALAR_KINDS,
  modelSchemaRef,
  type BlobRef,
  type BranchCase,
  type BranchNode,
  type CacheSpec,
  type ColumnType,
  type Condition,
  type EntityRef,
  type EntitySet,
  type Identifier,
  type LaunchPlanNode,
  type LaunchPlanSpec,
  type Literal,
  type LiteralType,
  type MapNode,
  type ModelSchemaDef,
  type Node,
  type NodeMetadata,
  type ResourceList,
  type Resources,
  type Schedule,
  type TaskNode,
  type TaskSpec,
  type TypedInterface,
  type Variable,
  type WorkflowNode,
  type WorkflowSpec,
  type Binding,
} from "../../kernel/model/index.js";

const ajv = new Ajv2020({ strict: true, allErrors: true }).addSchema(MODEL_SCHEMA);

/** Validation errors of `value` as one model type; [] when valid. */
function errorsOf(def: ModelSchemaDef, value: unknown): ErrorObject[] {
  const validate = ajv.getSchema(modelSchemaRef(def));
  if (!validate) throw new Error(`no schema for ${def}`);
  return validate(value) ? [] : (validate.errors ?? []);
}

/** Asserts that `value` is valid, showing ajv's errors when it is not. */
function expectValid(def: ModelSchemaDef, value: unknown): void {
  expect(errorsOf(def, value), `${def} should be valid`).toEqual([]);
}

/** Asserts that `value` is rejected with (at least) one error at `instancePath` of the given keyword. */
function expectRejected(
  def: ModelSchemaDef,
  value: unknown,
  instancePath: string,
  keyword: string,
  params?: Record<string, unknown>,
): void {
  const errors = errorsOf(def, value);
  expect(errors.length, `${def} should be rejected`).toBeGreaterThan(0);
  expect(errors).toContainEqual(
    expect.objectContaining({ instancePath, keyword, ...(params ? { params: expect.objectContaining(params) } : {}) }),
  );
}

/** A structured clone that the test may break freely (hence untyped). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function broken<T>(value: T, edit: (copy: any) => void): unknown {
  const copy = structuredClone(value);
  edit(copy);
  return copy;
}

const HASH = `sha256:${"ab".repeat(32)}`;

// ---- samples -----------------------------------------------------------------

const blob: BlobRef = { hash: HASH, size: 1024, format: "arrow" };
const fileBlob: BlobRef = { hash: HASH, size: 3, format: "file", filename: "data.csv" };

const literals: Record<string, Literal> = {
  none: { kind: "none" },
  int: { kind: "int", value: "42" },
  negativeInt64: { kind: "int", value: "-9223372036854775808" },
  zero: { kind: "int", value: "0" },
  float: { kind: "float", value: 3.25 },
  integralFloat: { kind: "float", value: 3 },
  nan: { kind: "float", value: "NaN" },
  infinity: { kind: "float", value: "Infinity" },
  negInfinity: { kind: "float", value: "-Infinity" },
  string: { kind: "string", value: "" },
  bool: { kind: "bool", value: false },
  datetime: { kind: "datetime", value: "2024-02-29T12:34:56.789Z" },
  datetimeNoFraction: { kind: "datetime", value: "2024-02-29T12:34:56Z" },
  datetimeFarFuture: { kind: "datetime", value: new Date(8.64e15).toISOString() },
  datetimeBC: { kind: "datetime", value: new Date(-8.64e15).toISOString() },
  duration: { kind: "duration", value: 1500 },
  json: { kind: "json", value: { a: [1, "two", null, { b: true }] } },
  jsonNull: { kind: "json", value: null },
  emptyList: { kind: "list", items: [] },
  nestedList: {
    kind: "list",
    items: [
      { kind: "list", items: [{ kind: "int", value: "1" }, { kind: "int", value: "2" }] },
      { kind: "list", items: [] },
    ],
  },
  map: {
    kind: "map",
    entries: {
      df: { kind: "blob", blob },
      file: { kind: "blob", blob: fileBlob },
      maybe: { kind: "union", variant: 1, value: { kind: "none" } },
      inner: { kind: "map", entries: { x: { kind: "union", variant: 0, value: { kind: "list", items: [] } } } },
    },
  },
  dir: { kind: "blob", blob: { hash: HASH, size: 0, format: "dir" } },
};

const types: Record<string, LiteralType> = {
  ...Object.fromEntries(SCALAR_KINDS.map((kind) => [kind, { kind }])),
  struct: { kind: "struct", fields: { a: { kind: "int" }, b: { kind: "list", items: { kind: "string" } } } },
  emptyStruct: { kind: "struct", fields: {} },
  map: { kind: "map", values: { kind: "optional", type: { kind: "float" } } },
  enum: { kind: "enum", values: ["red", "green"] },
  union: { kind: "union", variants: [{ kind: "int" }, { kind: "map", values: { kind: "json" } }] },
  dataframe: { kind: "dataframe" },
  typedDataframe: {
    kind: "dataframe",
    columns: COLUMN_KINDS.map((kind, i): ColumnType => ({ name: `c${i}`, kind })),
  },
  file: { kind: "file" },
  csv: { kind: "file", format: "csv" },
  dir: { kind: "dir" },
  deep: { kind: "list", items: { kind: "union", variants: [{ kind: "struct", fields: { d: { kind: "dir" } } }] } },
};

const iface: TypedInterface = {
  inputs: {
    x: { type: { kind: "int" }, description: "the x", default: { kind: "int", value: "1" } },
    xs: { type: { kind: "list", items: { kind: "int" } } },
  },
  outputs: { y: { type: { kind: "int" } } },
};

const cache: CacheSpec = {
  enabled: true,
  version: "sha256:closure",
  versionSource: "code-closure",
  ignoredInputs: ["xs"],
  serialize: false,
};

const task: TaskSpec = {
  name: "add_one",
  interface: iface,
  cache,
  retries: 2,
  timeoutMs: 60_000,
  resources: { requests: { cpu: "500m", mem: "150Mi" }, limits: { cpu: "2", mem: "1Gi", gpu: "1", ephemeralStorage: "1e9" } },
  image: "ghcr.io/petrel/runtime:1",
  env: { LOG_LEVEL: "debug" },
  secrets: ["db-password"],
  interruptible: true,
  description: "adds one",
  source: "cell 3:12",
};

const minimalTask: TaskSpec = {
  name: "noop",
  interface: { inputs: {}, outputs: {} },
  cache: { enabled: false, version: "", versionSource: "explicit", ignoredInputs: [], serialize: false },
  retries: 0,
  resources: {},
  env: {},
  secrets: [],
  interruptible: false,
};

const taskRef: EntityRef = { resourceType: "task", name: "add_one", version: "v1" };
const nodeOutputs: Record<string, LiteralType> = { y: { kind: "int" } };

const taskNode: TaskNode = {
  id: "n0",
  kind: "task",
  target: taskRef,
  inputs: {
    x: { kind: "input", name: "x" },
    xs: { kind: "list", items: [{ kind: "literal", literal: { kind: "int", value: "7" } }, { kind: "input", name: "x" }] },
  },
  upstream: [],
  metadata: { name: "add_one", retries: 1, timeoutMs: 1000, interruptible: false },
  outputs: nodeOutputs,
};

const mapNode: MapNode = {
  id: "n1",
  kind: "map",
  target: { resourceType: "task", name: "add_one" },
  inputs: { x: { kind: "input", name: "x" }, xs: { kind: "input", name: "xs" } },
  upstream: ["n0"],
  metadata: { name: "map_add_one" },
  outputs: { y: { kind: "list", items: { kind: "optional", type: { kind: "int" } } } },
  mapped: ["xs"],
  concurrency: 0,
  minSuccessRatio: 0.5,
};

const workflowNode: WorkflowNode = {
  id: "n2",
  kind: "workflow",
  target: { resourceType: "workflow", name: "sub.flow", version: "v1" },
  inputs: { m: { kind: "map", entries: { a: { kind: "output", node: "n0", output: "y" } } } },
  upstream: ["n0"],
  metadata: { name: "sub" },
  outputs: {},
};

const launchPlanNode: LaunchPlanNode = {
  id: "n3",
  kind: "launch_plan",
  target: { resourceType: "launch_plan", name: "nightly" },
  inputs: {},
  upstream: ["n2"],
  metadata: { name: "child" },
  outputs: {},
};

const yIsBig: Condition = {
  kind: "and",
  conditions: [
    {
      kind: "compare",
      op: "gt",
      left: { kind: "output", node: "n0", output: "y" },
      right: { kind: "literal", literal: { kind: "int", value: "10" } },
    },
    { kind: "not", condition: { kind: "truthy", value: { kind: "input", name: "x" } } },
    { kind: "or", conditions: [] },
  ],
};

const innerBranch: BranchNode = {
  id: "n4-inner",
  kind: "branch",
  inputs: {},
  upstream: [],
  metadata: { name: "inner" },
  outputs: nodeOutputs,
  cases: [{ condition: { kind: "truthy", value: { kind: "input", name: "x" } }, node: { ...taskNode, id: "n4-inner-0" } }],
  otherwise: { error: "x was falsy" },
};

const branchNode: BranchNode = {
  id: "n4",
  kind: "branch",
  inputs: {},
  upstream: ["n0"],
  metadata: { name: "choose" },
  outputs: nodeOutputs,
  cases: [
    { condition: yIsBig, node: innerBranch },
    { condition: { kind: "compare", op: "lte", left: { kind: "input", name: "x" }, right: { kind: "input", name: "x" } }, node: mapNode },
  ],
  otherwise: { node: { ...taskNode, id: "n4-else" } },
};

const workflow: WorkflowSpec = {
  name: "pipeline",
  interface: iface,
  nodes: [taskNode, mapNode, workflowNode, launchPlanNode, branchNode],
  outputs: { y: { kind: "output", node: "n4", output: "y" } },
  failurePolicy: "fail_after_executable_nodes_complete",
  description: "the whole thing",
  source: "cell 4",
};

const cronPlan: LaunchPlanSpec = {
  name: "nightly",
  workflow: { resourceType: "workflow", name: "pipeline", version: "v1" },
  defaultInputs: { x: { kind: "int", value: "3" } },
  fixedInputs: { xs: { kind: "list", items: [] } },
  schedule: { kind: "cron", expression: "30 2 * * MON-FRI", timezone: "Europe/Berlin", kickoffTimeInput: "when" },
  maxParallelism: 4,
  labels: { team: "ml" },
  description: "every weekday night",
};

const aliasPlan: LaunchPlanSpec = {
  name: "daily",
  workflow: { resourceType: "workflow", name: "pipeline" },
  defaultInputs: {},
  fixedInputs: {},
  schedule: { kind: "cron", expression: "@daily" },
  labels: {},
};

const ratePlan: LaunchPlanSpec = {
  name: "every_5_min",
  workflow: { resourceType: "workflow", name: "pipeline" },
  defaultInputs: {},
  fixedInputs: {},
  schedule: { kind: "rate", everyMs: 300_000, kickoffTimeInput: "t", catchUp: "all", catchUpLimit: 10, concurrency: "skip" },
  labels: {},
};

const unscheduledPlan: LaunchPlanSpec = { ...ratePlan, name: "manual" };
delete unscheduledPlan.schedule;

const entities: EntitySet = { tasks: [task, minimalTask], workflows: [workflow], launchPlans: [cronPlan, ratePlan] };

const identifier: Identifier = {
  resourceType: "launch_plan",
  project: "flights",
  domain: "development",
  name: "nightly",
  version: "sha256:0123",
};

// ---- tests ---------------------------------------------------------------------

describe("MODEL_SCHEMA", () => {
  it("compiles as a strict draft 2020-12 schema under its $id", () => {
    expect(MODEL_SCHEMA.$id).toBe(MODEL_SCHEMA_ID);
    expect(MODEL_SCHEMA.$schema).toBe("https://json-schema.org/draft/2020-12/schema");
    for (const def of Object.keys(MODEL_SCHEMA.$defs) as ModelSchemaDef[]) {
      expect(ajv.getSchema(modelSchemaRef(def)), def).toBeTypeOf("function");
    }
  });

  it("is plain JSON: it survives a JSON round trip unchanged", () => {
    expect(JSON.parse(JSON.stringify(MODEL_SCHEMA))).toEqual(MODEL_SCHEMA);
  });

  it("closes every object definition with additionalProperties: false", () => {
    const open: string[] = [];
    const visit = (node: unknown, path: string): void => {
      if (typeof node !== "object" || node === null) return;
      const obj = node as Record<string, unknown>;
      // A record (`additionalProperties: <schema>`) is open by design; a fixed shape must be closed.
      // `if` schemas only select a variant; `target`/`workflow` refine a closed EntityRef with allOf.
      const selectorOrRefinement = path.endsWith("/if") || /\/allOf\/1$/.test(path);
      if (obj.type === "object" && obj.properties !== undefined && !selectorOrRefinement) {
        if (obj.additionalProperties !== false) open.push(path);
      }
      for (const [k, v] of Object.entries(obj)) visit(v, `${path}/${k}`);
    };
    visit(MODEL_SCHEMA.$defs, "#/$defs");
    // The dispatchers of discriminated unions only check `kind`; each variant they route to is closed.
    expect(open.sort()).toEqual(
      ["Binding", "Condition", "Literal", "LiteralType", "Node", "Schedule"].map((d) => `#/$defs/${d}`),
    );
  });

  it("validates an entity set at its root", () => {
    const validate = ajv.getSchema(MODEL_SCHEMA_ID)!;
    expect(validate(entities), JSON.stringify(validate.errors)).toBe(true);
    expect(validate({ tasks: [], workflows: [] })).toBe(false);
    expect(validate.errors).toContainEqual(
      expect.objectContaining({ instancePath: "", keyword: "required", params: { missingProperty: "launchPlans" } }),
    );
  });
});

describe("valid samples pass", () => {
  it.each(Object.entries(literals))("literal %s", (_, literal) => expectValid("Literal", literal));
  it.each(Object.entries(types))("type %s", (_, type) => expectValid("LiteralType", type));

  it("a variable with a default, and an interface", () => {
    const v: Variable = { type: { kind: "optional", type: { kind: "string" } }, default: { kind: "none" } };
    expectValid("Variable", v);
    expectValid("TypedInterface", iface);
  });

  it("a task with every optional field, and a minimal one", () => {
    expectValid("TaskSpec", task);
    expectValid("TaskSpec", minimalTask);
    expectValid("TaskSpec", { ...minimalTask, timeoutMs: 0.5 } satisfies TaskSpec);
  });

  it("every node kind on its own", () => {
    for (const node of [taskNode, mapNode, workflowNode, launchPlanNode, innerBranch, branchNode]) expectValid("Node", node);
  });

  it("a workflow with task, map, workflow, launch plan and nested branch nodes", () => {
    expectValid("WorkflowSpec", workflow);
  });

  it("launch plans with a cron schedule, an alias, a fixed rate and none", () => {
    for (const plan of [cronPlan, aliasPlan, ratePlan, unscheduledPlan]) expectValid("LaunchPlanSpec", plan);
  });

  it("an entity set, an identifier, resources and a blob ref", () => {
    expectValid("EntitySet", entities);
    expectValid("EntitySet", { tasks: [], workflows: [], launchPlans: [] } satisfies EntitySet);
    expectValid("Identifier", identifier);
    expectValid("Resources", task.resources);
    expectValid("BlobRef", fileBlob);
  });

  it("names at the edges of NAME_PATTERN", () => {
    for (const name of ["a", "_x", "A.b-c_9", `a${"b".repeat(127)}`]) expectValid("TaskSpec", { ...minimalTask, name });
  });

  it("Kubernetes quantities in every notation", () => {
    for (const cpu of ["1", "0.5", ".5", "100m", "1k", "2Ki", "1.5Gi", "3e2", "1E-3", "7Ei"]) {
      expectValid("ResourceList", { cpu } satisfies ResourceList);
    }
  });
});

describe("malformed samples fail with the path of the bad field", () => {
  it("a node kind that does not exist", () => {
    const value = broken(workflow, (w) => (w.nodes[0].kind = "tsak"));
    expectRejected("WorkflowSpec", value, "/nodes/0/kind", "enum");
  });

  it("a misspelt kind deep inside nested branches", () => {
    const value = broken(workflow, (w) => (w.nodes[4].cases[0].node.cases[0].node.kind = "tsak"));
    expectRejected("WorkflowSpec", value, "/nodes/4/cases/0/node/cases/0/node/kind", "enum");
  });

  it("an int literal given as a JSON number", () => {
    expectRejected("Literal", { kind: "int", value: 42 }, "/value", "type");
    const value = broken(workflow, (w) => (w.nodes[0].inputs.xs.items[0].literal.value = 7));
    expectRejected("WorkflowSpec", value, "/nodes/0/inputs/xs/items/0/literal/value", "type");
  });

  it("int literals that are not canonical int64 decimal strings", () => {
    for (const value of ["1.5", "007", "-0", "+1", "1e3", "", " 1", "12345678901234567890"]) {
      expectRejected("Literal", { kind: "int", value }, "/value", "pattern");
    }
  });

  it("floats, datetimes and booleans in the wrong shape", () => {
    expectRejected("Literal", { kind: "float", value: "nan" }, "/value", "anyOf");
    expectRejected("Literal", { kind: "float", value: null }, "/value", "anyOf");
    expectRejected("Literal", { kind: "datetime", value: "2024-01-01T00:00:00+01:00" }, "/value", "pattern");
    expectRejected("Literal", { kind: "datetime", value: "2024-13-01T00:00:00Z" }, "/value", "pattern");
    expectRejected("Literal", { kind: "datetime", value: 1_700_000_000_000 }, "/value", "type");
    expectRejected("Literal", { kind: "bool", value: "true" }, "/value", "type");
    expectRejected("Literal", { kind: "duration", value: "5m" }, "/value", "type");
  });

  it("a literal with a missing value or an unknown kind", () => {
    expectRejected("Literal", { kind: "json" }, "", "required", { missingProperty: "value" });
    expectRejected("Literal", { kind: "string" }, "", "required", { missingProperty: "value" });
    expectRejected("Literal", { kind: "struct", entries: {} }, "/kind", "enum");
    expectRejected("Literal", { value: "1" }, "", "required", { missingProperty: "kind" });
    expectRejected("Literal", "1", "", "type");
  });

  it("bad nested literals: blob hash, union variant, list item", () => {
    expectRejected("Literal", broken(literals.map, (l) => (l.entries.df.blob.hash = "md5:abc")), "/entries/df/blob/hash", "pattern");
    expectRejected("Literal", broken(literals.map, (l) => (l.entries.df.blob.format = "parquet")), "/entries/df/blob/format", "enum");
    expectRejected("Literal", broken(literals.map, (l) => (l.entries.maybe.variant = -1)), "/entries/maybe/variant", "minimum");
    expectRejected("Literal", broken(literals.map, (l) => delete l.entries.maybe.value), "/entries/maybe", "required");
    expectRejected("Literal", broken(literals.nestedList, (l) => (l.items[0].items[1] = { kind: "int" })), "/items/0/items/1", "required");
    expectRejected("Literal", broken(literals.dir, (l) => (l.blob.size = 1.5)), "/blob/size", "type");
  });

  it("a task without an interface", () => {
    const value = broken(task, (t) => delete t.interface);
    expectRejected("TaskSpec", value, "", "required", { missingProperty: "interface" });
    expectRejected("EntitySet", { ...entities, tasks: [value] }, "/tasks/0", "required", { missingProperty: "interface" });
  });

  it("extra properties anywhere", () => {
    expectRejected("TaskSpec", { ...task, retry: 3 }, "", "additionalProperties", { additionalProperty: "retry" });
    expectRejected("LiteralType", { kind: "int", nullable: true }, "", "additionalProperties", { additionalProperty: "nullable" });
    expectRejected("LiteralType", { kind: "list", items: { kind: "int" }, values: { kind: "int" } }, "", "additionalProperties");
    expectRejected(
      "WorkflowSpec",
      broken(workflow, (w) => (w.nodes[1].cases = [])),
      "/nodes/1",
      "additionalProperties",
      { additionalProperty: "cases" },
    );
    expectRejected("Identifier", { ...identifier, org: "x" }, "", "additionalProperties", { additionalProperty: "org" });
    expectRejected("Literal", { kind: "none", value: null }, "", "additionalProperties");
  });

  it("a node target of the wrong resource type", () => {
    const value = broken(workflow, (w) => (w.nodes[0].target.resourceType = "workflow"));
    expectRejected("WorkflowSpec", value, "/nodes/0/target/resourceType", "const");
    expectRejected("LaunchPlanSpec", { ...ratePlan, workflow: taskRef }, "/workflow/resourceType", "const");
  });

  it("entity names outside NAME_PATTERN", () => {
    for (const name of ["", "my task", "1st", "a/b", `a${"b".repeat(128)}`]) {
      expectRejected("TaskSpec", { ...minimalTask, name }, "/name", "pattern");
    }
    expectRejected("Identifier", { ...identifier, project: "my project" }, "/project", "pattern");
    expectRejected("Node", broken(taskNode, (n) => (n.target.name = "x y")), "/target/name", "pattern");
  });

  it("bad map and branch nodes", () => {
    expectRejected("Node", { ...mapNode, minSuccessRatio: 1.5 }, "/minSuccessRatio", "maximum");
    expectRejected("Node", { ...mapNode, mapped: [] }, "/mapped", "minItems");
    expectRejected("Node", { ...mapNode, concurrency: -1 }, "/concurrency", "minimum");
    expectRejected("Node", { ...branchNode, cases: [] }, "/cases", "minItems");
    expectRejected("Node", { ...branchNode, otherwise: { node: taskNode, error: "no" } }, "/otherwise", "additionalProperties");
    expectRejected("Node", { ...branchNode, otherwise: {} }, "/otherwise", "required", { missingProperty: "error" });
    expectRejected("Node", { ...taskNode, upstream: ["n0", "n0"] }, "/upstream", "uniqueItems");
    expectRejected("Node", { ...taskNode, id: "" }, "/id", "minLength");
  });

  it("bad conditions and bindings", () => {
    const cond = broken(yIsBig, (c) => (c.conditions[0].op = "=="));
    expectRejected("Condition", cond, "/conditions/0/op", "enum");
    expectRejected("Condition", { kind: "not", conditions: [] }, "", "required", { missingProperty: "condition" });
    expectRejected("Binding", { kind: "output", node: "n0" }, "", "required", { missingProperty: "output" });
    expectRejected("Binding", { kind: "promise", node: "n0" }, "/kind", "enum");
  });

  it("bad schedules", () => {
    expectRejected("LaunchPlanSpec", { ...cronPlan, schedule: { kind: "cron", expression: "* * * *" } }, "/schedule/expression", "pattern");
    expectRejected("LaunchPlanSpec", { ...cronPlan, schedule: { kind: "cron", expression: "0 * * * * *" } }, "/schedule/expression", "pattern");
    expectRejected("LaunchPlanSpec", { ...ratePlan, schedule: { kind: "rate", everyMs: 0 } }, "/schedule/everyMs", "exclusiveMinimum");
    expectRejected("LaunchPlanSpec", { ...ratePlan, schedule: { kind: "rate", everyMs: 1, expression: "@daily" } }, "/schedule", "additionalProperties");
    expectRejected("LaunchPlanSpec", { ...ratePlan, schedule: { kind: "fixed", everyMs: 1 } }, "/schedule/kind", "enum");
    expectRejected("LaunchPlanSpec", { ...ratePlan, schedule: { kind: "rate", everyMs: 60_000, catchUp: "most" } }, "/schedule/catchUp", "enum");
    expectRejected("LaunchPlanSpec", { ...cronPlan, schedule: { kind: "cron", expression: "@daily", catchUpLimit: 0 } }, "/schedule/catchUpLimit", "minimum");
    expectRejected("LaunchPlanSpec", { ...cronPlan, schedule: { kind: "cron", expression: "@daily", catchUpLimit: 1.5 } }, "/schedule/catchUpLimit", "type");
    expectRejected("LaunchPlanSpec", { ...cronPlan, schedule: { kind: "cron", expression: "@daily", concurrency: "queue" } }, "/schedule/concurrency", "enum");
  });

  it("bad tasks: resources, retries, timeouts, cache, env", () => {
    expectRejected("TaskSpec", { ...task, resources: { requests: { cpu: "2 cores" } } }, "/resources/requests/cpu", "pattern");
    expectRejected("TaskSpec", { ...task, resources: { requests: { memory: "1Gi" } } }, "/resources/requests", "additionalProperties");
    expectRejected("TaskSpec", { ...task, retries: -1 }, "/retries", "minimum");
    expectRejected("TaskSpec", { ...task, retries: 1.5 }, "/retries", "type");
    expectRejected("TaskSpec", { ...task, timeoutMs: 0 }, "/timeoutMs", "exclusiveMinimum");
    expectRejected("TaskSpec", { ...task, cache: { ...cache, versionSource: "guess" } }, "/cache/versionSource", "enum");
    expectRejected("TaskSpec", { ...task, env: { N: 1 } }, "/env/N", "type");
  });

  it("bad types: enum, union, dataframe columns, struct fields", () => {
    expectRejected("LiteralType", { kind: "enum", values: [] }, "/values", "minItems");
    expectRejected("LiteralType", { kind: "enum", values: ["a", "a"] }, "/values", "uniqueItems");
    expectRejected("LiteralType", { kind: "union", variants: [] }, "/variants", "minItems");
    expectRejected("LiteralType", { kind: "dataframe", columns: [{ name: "a", kind: "json" }] }, "/columns/0/kind", "enum");
    expectRejected("LiteralType", { kind: "struct", fields: { a: { kind: "int64" } } }, "/fields/a/kind", "enum");
    expectRejected("LiteralType", { kind: "list" }, "", "required", { missingProperty: "items" });
    expectRejected("LiteralType", { kind: "optional", type: "int" }, "/type", "type");
  });
});

// ---- generated values ----------------------------------------------------------

const nameArb = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_.-]{0,10}$/);
const keyArb = fc.string({ maxLength: 6 });
const { literalType } = fc.letrec<{ literalType: LiteralType }>((tie) => ({
  literalType: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.constantFrom(...SCALAR_KINDS).map((kind): LiteralType => ({ kind })),
    fc.constantFrom<LiteralType>({ kind: "dir" }, { kind: "file" }, { kind: "dataframe" }),
    fc.string({ minLength: 1 }).map((format): LiteralType => ({ kind: "file", format })),
    fc
      .uniqueArray(fc.record({ name: fc.string({ minLength: 1 }), kind: fc.constantFrom(...COLUMN_KINDS) }), { selector: (c) => c.name })
      .map((columns): LiteralType => ({ kind: "dataframe", columns })),
    fc.uniqueArray(fc.string(), { minLength: 1 }).map((values): LiteralType => ({ kind: "enum", values })),
    fc.dictionary(keyArb, tie("literalType")).map((fields): LiteralType => ({ kind: "struct", fields })),
    tie("literalType").map((items): LiteralType => ({ kind: "list", items })),
    tie("literalType").map((values): LiteralType => ({ kind: "map", values })),
    tie("literalType").map((type): LiteralType => ({ kind: "optional", type })),
    fc.array(tie("literalType"), { minLength: 1, maxLength: 3 }).map((variants): LiteralType => ({ kind: "union", variants })),
  ),
}));

const int64Arb = fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map((n) => n.toString());
const blobArb: fc.Arbitrary<BlobRef> = fc.record(
  {
    hash: fc.stringMatching(/^[0-9a-f]{64}$/).map((hex) => `sha256:${hex}`),
    size: fc.nat(),
    format: fc.constantFrom("arrow", "file", "dir"),
    filename: fc.string({ minLength: 1 }),
  },
  { requiredKeys: ["hash", "size", "format"] },
);
const { literal } = fc.letrec<{ literal: Literal }>((tie) => ({
  literal: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.constant<Literal>({ kind: "none" }),
    int64Arb.map((value): Literal => ({ kind: "int", value })),
    fc
      .oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.constantFrom("NaN" as const, "Infinity" as const, "-Infinity" as const))
      .map((value): Literal => ({ kind: "float", value })),
    fc.string().map((value): Literal => ({ kind: "string", value })),
    fc.boolean().map((value): Literal => ({ kind: "bool", value })),
    fc
      .date({ min: new Date(-8.64e15), max: new Date(8.64e15), noInvalidDate: true })
      .map((d): Literal => ({ kind: "datetime", value: d.toISOString() })),
    fc.double({ noNaN: true, noDefaultInfinity: true }).map((value): Literal => ({ kind: "duration", value })),
    fc.jsonValue().map((value): Literal => ({ kind: "json", value })),
    fc.array(tie("literal"), { maxLength: 3 }).map((items): Literal => ({ kind: "list", items })),
    fc.dictionary(keyArb, tie("literal"), { maxKeys: 3 }).map((entries): Literal => ({ kind: "map", entries })),
    fc.tuple(fc.nat(5), tie("literal")).map(([variant, value]): Literal => ({ kind: "union", variant, value })),
    blobArb.map((blob): Literal => ({ kind: "blob", blob })),
  ),
}));

const bindingArb = fc.letrec<{ binding: Binding }>((tie) => ({
  binding: fc.oneof(
    { depthSize: "small" },
    keyArb.map((name): Binding => ({ kind: "input", name })),
    fc.tuple(fc.string({ minLength: 1 }), keyArb).map(([node, output]): Binding => ({ kind: "output", node, output })),
    literal.map((l): Binding => ({ kind: "literal", literal: l })),
    fc.array(tie("binding"), { maxLength: 3 }).map((items): Binding => ({ kind: "list", items })),
    fc.dictionary(keyArb, tie("binding"), { maxKeys: 3 }).map((entries): Binding => ({ kind: "map", entries })),
  ),
})).binding;

const scheduleArb: fc.Arbitrary<Schedule> = fc.oneof(
  fc.record(
    {
      kind: fc.constant("cron" as const),
      expression: fc.constantFrom("* * * * *", "*/5 0-6 1,15 JAN-MAR MON", "@hourly", " 0 0 29 2 * "),
      timezone: fc.constantFrom("UTC", "America/New_York"),
      kickoffTimeInput: keyArb,
      catchUp: fc.constantFrom("none" as const, "latest" as const, "all" as const),
      catchUpLimit: fc.integer({ min: 1, max: 10_000 }),
      concurrency: fc.constantFrom("allow" as const, "skip" as const),
    },
    { requiredKeys: ["kind", "expression"] },
  ),
  fc.record(
    {
      kind: fc.constant("rate" as const),
      everyMs: fc.double({ min: Number.MIN_VALUE, noNaN: true, noDefaultInfinity: true }),
      kickoffTimeInput: keyArb,
      catchUp: fc.constantFrom("none" as const, "latest" as const, "all" as const),
      catchUpLimit: fc.integer({ min: 1, max: 10_000 }),
      concurrency: fc.constantFrom("allow" as const, "skip" as const),
    },
    { requiredKeys: ["kind", "everyMs"] },
  ),
);

describe("everything the types allow is accepted", () => {
  it("generated literal types", () => {
    fc.assert(fc.property(literalType, (t) => errorsOf("LiteralType", t).length === 0));
  });

  it("generated literals (JSON round-tripped, as they arrive over HTTP)", () => {
    fc.assert(fc.property(literal, (l) => errorsOf("Literal", JSON.parse(JSON.stringify(l))).length === 0));
  });

  it("generated bindings", () => {
    fc.assert(fc.property(bindingArb, (b) => errorsOf("Binding", JSON.parse(JSON.stringify(b))).length === 0));
  });

  it("generated launch plans", () => {
    const planArb = fc.record(
      {
        name: nameArb,
        workflow: fc.record({ resourceType: fc.constant("workflow" as const), name: nameArb }),
        defaultInputs: fc.dictionary(keyArb, literal, { maxKeys: 2 }),
        fixedInputs: fc.dictionary(keyArb, literal, { maxKeys: 2 }),
        schedule: scheduleArb,
        maxParallelism: fc.nat(),
        labels: fc.dictionary(keyArb, fc.string()),
        description: fc.string(),
      },
      { requiredKeys: ["name", "workflow", "defaultInputs", "fixedInputs", "labels"] },
    ) satisfies fc.Arbitrary<LaunchPlanSpec>;
    fc.assert(fc.property(planArb, (p) => errorsOf("LaunchPlanSpec", JSON.parse(JSON.stringify(p))).length === 0));
  });
});

// ---- the schema and the types agree, checked by the compiler --------------------

type Defs = (typeof MODEL_SCHEMA)["$defs"];
/** The property names a closed object schema allows. */
type SchemaKeys<S> = S extends { properties: infer P } ? keyof P : never;
/** The property names a closed object schema requires. */
type SchemaRequired<S> = S extends { required: readonly (infer R)[] } ? R : never;
/** The keys of T that are not optional. */
type RequiredKeys<T> = { [K in keyof T]-?: T extends Record<K, T[K]> ? K : never }[keyof T];
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
/** `true` when schema S allows exactly T's keys and requires exactly T's required keys; else `Name`. */
type Agrees<S, T, Name> =
  Same<SchemaKeys<S>, keyof T> extends true ? (Same<SchemaRequired<S>, RequiredKeys<T>> extends true ? true : Name) : Name;
/** A `$ref` to a `$defs` entry, resolved. */
type Deref<S> = S extends { $ref: `#/$defs/${infer D extends keyof Defs}` } ? Defs[D] : S;
/** The `then` of a dispatcher's allOf branch whose `if` selects kind K. */
type Then<S, K> = S extends { allOf: readonly (infer B)[] }
  ? B extends { if: { properties: { kind: infer C } }; then: infer T }
    ? C extends { const: K }
      ? Deref<T>
      : C extends { enum: readonly (infer E)[] }
        ? K extends E
          ? Deref<T>
          : never
        : never
    : never
  : never;
/** For each member of the union U discriminated by `kind`, whether the variant that S routes it to agrees. */
type UnionAgrees<U extends { kind: string }, S> = { [K in U["kind"]]: Agrees<Then<S, K>, Variant<U, K>, K> }[U["kind"]];
/** The member of U whose kind admits K (`{ kind: ScalarKind }` for "int", which Extract would miss). */
type Variant<U extends { kind: string }, K> = U extends unknown ? (K extends U["kind"] ? U : never) : never;

describe("schema and types agree at compile time", () => {
  it("closed objects allow and require exactly the interface's fields", () => {
    const shapes = {
      Identifier: {} as Identifier,
      EntityRef: {} as EntityRef,
      BlobRef: {} as BlobRef,
      ColumnType: {} as ColumnType,
      Variable: {} as Variable,
      TypedInterface: {} as TypedInterface,
      ResourceList: {} as ResourceList,
      Resources: {} as Resources,
      CacheSpec: {} as CacheSpec,
      TaskSpec: {} as TaskSpec,
      NodeMetadata: {} as NodeMetadata,
      TaskNode: {} as TaskNode,
      WorkflowNode: {} as WorkflowNode,
      LaunchPlanNode: {} as LaunchPlanNode,
      MapNode: {} as MapNode,
      BranchNode: {} as BranchNode,
      BranchCase: {} as BranchCase,
      WorkflowSpec: {} as WorkflowSpec,
      LaunchPlanSpec: {} as LaunchPlanSpec,
      EntitySet: {} as EntitySet,
    };
    type Shapes = typeof shapes;
    expectTypeOf<{ [D in keyof Shapes]: Agrees<Defs[D], Shapes[D], D> }[keyof Shapes]>().toEqualTypeOf<true>();
    expect(Object.keys(shapes).every((d) => d in MODEL_SCHEMA.$defs)).toBe(true);
  });

  it("each variant of a discriminated union has its own closed schema that agrees with it", () => {
    expectTypeOf<UnionAgrees<LiteralType, Defs["LiteralType"]>>().toEqualTypeOf<true>();
    expectTypeOf<UnionAgrees<Literal, Defs["Literal"]>>().toEqualTypeOf<true>();
    expectTypeOf<UnionAgrees<Binding, Defs["Binding"]>>().toEqualTypeOf<true>();
    expectTypeOf<UnionAgrees<Condition, Defs["Condition"]>>().toEqualTypeOf<true>();
    expectTypeOf<UnionAgrees<Node, Defs["Node"]>>().toEqualTypeOf<true>();
    expectTypeOf<UnionAgrees<Schedule, Defs["Schedule"]>>().toEqualTypeOf<true>();
  });

  it("enums list exactly the members of the TypeScript unions", () => {
    expectTypeOf<Defs["LiteralType"]["properties"]["kind"]["enum"][number]>().toEqualTypeOf<LiteralType["kind"]>();
    expectTypeOf<Defs["Literal"]["properties"]["kind"]["enum"][number]>().toEqualTypeOf<Literal["kind"]>();
    expectTypeOf<Defs["Node"]["properties"]["kind"]["enum"][number]>().toEqualTypeOf<Node["kind"]>();
    expectTypeOf<Defs["Binding"]["properties"]["kind"]["enum"][number]>().toEqualTypeOf<Binding["kind"]>();
    expectTypeOf<Defs["Condition"]["properties"]["kind"]["enum"][number]>().toEqualTypeOf<Condition["kind"]>();
    expectTypeOf<Defs["Schedule"]["properties"]["kind"]["enum"][number]>().toEqualTypeOf<Schedule["kind"]>();
    expectTypeOf<Defs["ResourceType"]["enum"][number]>().toEqualTypeOf<EntityRef["resourceType"]>();
    expectTypeOf<Defs["BlobRef"]["properties"]["format"]["enum"][number]>().toEqualTypeOf<BlobRef["format"]>();
    expectTypeOf<Defs["ColumnType"]["properties"]["kind"]["enum"][number]>().toEqualTypeOf<ColumnType["kind"]>();
    expectTypeOf<Defs["CacheSpec"]["properties"]["versionSource"]["enum"][number]>().toEqualTypeOf<CacheSpec["versionSource"]>();
    expectTypeOf<Defs["WorkflowSpec"]["properties"]["failurePolicy"]["enum"][number]>().toEqualTypeOf<WorkflowSpec["failurePolicy"]>();
    expect(MODEL_SCHEMA.$defs.ScalarType.properties.kind.enum).toEqual(SCALAR_KINDS);
  });
});
