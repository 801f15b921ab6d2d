// Small specs and records shared by the backend suites, written out as plain
// JSON so each test shows exactly what the backend receives.
import type { Literal, LaunchPlanSpec, TaskSpec, WorkflowSpec, Identifier } from "../../kernel/index.js";
import type { EntityRecord, NewEntity, NewExecution } from "../../backend/index.js";

export const int = (n: number | string): Literal => ({ kind: "int", value: String(n) });
export const str = (s: string): Literal => ({ kind: "string", value: s });

/** add(a: int, b: int = 1) -> sum: int */
export function addTask(overrides: Partial<TaskSpec> = {}): TaskSpec {
  return {
    name: "add",
    interface: {
      inputs: { a: { type: { kind: "int" } }, b: { type: { kind: "int" }, default: int(1) } },
      outputs: { sum: { type: { kind: "int" } } },
    },
    cache: { enabled: true, version: "v1", versionSource: "explicit", ignoredInputs: [], serialize: false },
    retries: 0,
    resources: {},
    env: {},
    secrets: [],
    interruptible: false,
    ...overrides,
  };
}

/** summarize(df: dataframe) -> rows: int */
export function summarizeTask(): TaskSpec {
  return {
    ...addTask(),
    name: "summarize",
    interface: { inputs: { df: { type: { kind: "dataframe" } } }, outputs: { rows: { type: { kind: "int" } } } },
  };
}

/** pipeline(x: int, y: int = 2, note: string?) -> out: int, running add(a: x, b: y). */
export function pipelineWorkflow(overrides: Partial<WorkflowSpec> = {}): WorkflowSpec {
  return {
    name: "pipeline",
    interface: {
      inputs: {
        x: { type: { kind: "int" } },
        y: { type: { kind: "int" }, default: int(2) },
        note: { type: { kind: "optional", type: { kind: "string" } } },
      },
      outputs: { out: { type: { kind: "int" } } },
    },
    nodes: [
      {
        kind: "task",
        id: "add",
        target: { resourceType: "task", name: "add" },
        inputs: { a: { kind: "input", name: "x" }, b: { kind: "input", name: "y" } },
        upstream: [],
        metadata: { name: "add" },
        outputs: { sum: { kind: "int" } },
      },
    ],
    outputs: { out: { kind: "output", node: "add", output: "sum" } },
    failurePolicy: "fail_immediately",
    ...overrides,
  };
}

/** A workflow whose two nodes read each other. */
export function cyclicWorkflow(): WorkflowSpec {
  const node = (id: string, other: string) => ({
    kind: "task" as const,
    id,
    target: { resourceType: "task" as const, name: "add" },
    inputs: { a: { kind: "output" as const, node: other, output: "sum" } },
    upstream: [other],
    metadata: { name: id },
    outputs: { sum: { kind: "int" as const } },
  });
  return {
    name: "cyclic",
    interface: { inputs: {}, outputs: {} },
    nodes: [node("one", "two"), node("two", "one")],
    outputs: {},
    failurePolicy: "fail_immediately",
  };
}

/** A workflow that binds a string input to add's int input. */
export function illTypedWorkflow(): WorkflowSpec {
  const wf = pipelineWorkflow({ name: "illtyped" });
  wf.interface.inputs = { x: { type: { kind: "string" } } };
  wf.nodes[0]!.inputs = { a: { kind: "input", name: "x" } };
  return wf;
}

/** nightly: pipeline with x fixed to 10 and y defaulting to 5, daily at 06:00. */
export function nightlyPlan(overrides: Partial<LaunchPlanSpec> = {}): LaunchPlanSpec {
  return {
    name: "nightly",
    workflow: { resourceType: "workflow", name: "pipeline" },
    defaultInputs: { y: int(5) },
    fixedInputs: { x: int(10) },
    schedule: { kind: "cron", expression: "0 6 * * *" },
    labels: { team: "ml" },
    ...overrides,
  };
}

export function identifier(resourceType: Identifier["resourceType"], project: string, name: string, version: string, domain = "development"): Identifier {
  return { resourceType, project, domain, name, version };
}

/** A store-level entity record (no compilation involved). */
export function entity(id: Identifier, spec: EntityRecord["spec"], digest = `sha256:${"0".repeat(63)}1`, at = 1_000): NewEntity {
  return { id, spec, digest, references: [], createdAt: at, createdBy: "tester" };
}

/** A store-level execution record. */
export function execution(project: string, name: string, at: number, overrides: Partial<NewExecution> = {}): NewExecution {
  return {
    key: { project, domain: "development", name },
    workflow: identifier("workflow", project, "pipeline", "v1"),
    phase: "QUEUED",
    mode: "launch",
    inputs: { inline: { x: int(1) } },
    labels: {},
    createdAt: at,
    createdBy: "tester",
    updatedAt: at,
    ...overrides,
  };
}

/** A unique suffix, so tests sharing a database never share names. */
export function unique(prefix: string): string {
  return `${prefix}_${Math.random().toString(36).slice(2, 10)}`;
}
