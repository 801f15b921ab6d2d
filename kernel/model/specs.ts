/**
 * TaskSpec, WorkflowSpec and LaunchPlanSpec: the compiled, plain-JSON form of what
 * a notebook defines. The backend stores, validates and runs exactly these.
 */
import type { EntityRef } from "./identifier.js";
import type { Literal } from "./literal.js";
import type { LiteralType } from "./literal-type.js";

/** One named input or output. */
export interface Variable {
  type: LiteralType;
  description?: string;
  /** Default value for an input; an input with a default may be omitted. */
  default?: Literal;
}

/** Inputs and outputs of a task or workflow. */
export interface TypedInterface {
  inputs: Record<string, Variable>;
  outputs: Record<string, Variable>;
}

/** A Kubernetes resource quantity: "2", "500m", "1.5", "150Mi", "1e3". */
export const QUANTITY_PATTERN = /^(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+|[numkMGTPE]|[KMGTPE]i)?$/;

/** Resource quantities in Kubernetes notation ("2", "500m", "150Mi"). */
export interface ResourceList {
  cpu?: string;
  mem?: string;
  gpu?: string;
  storage?: string;
  ephemeralStorage?: string;
}

/** Requested and limited resources. */
export interface Resources {
  requests?: ResourceList;
  limits?: ResourceList;
}

/** Caching settings of a task. */
export interface CacheSpec {
  enabled: boolean;
  /** Default: a hash of the task's code closure. */
  version: string;
  /** Where the version came from, for explaining cache decisions. */
  versionSource: "code-closure" | "function-source" | "explicit";
  /** Inputs left out of the cache key. */
  ignoredInputs: string[];
  /** One concurrent computation per key (backend); the rest wait for it. */
  serialize: boolean;
}

/** The compiled form of a task. */
export interface TaskSpec {
  name: string;
  interface: TypedInterface;
  cache: CacheSpec;
  /** User retries: attempts = retries + 1. */
  retries: number;
  /** Per-attempt timeout in milliseconds; absent means none. */
  timeoutMs?: number;
  resources: Resources;
  image?: string;
  env: Record<string, string>;
  secrets: string[];
  /** May run on preemptible capacity (except its last attempt). */
  interruptible: boolean;
  description?: string;
  /** Where the task was defined (file:line), for people. */
  source?: string;
}

/** Where a node input's value comes from. */
export type Binding =
  | { kind: "input"; name: string } // a workflow input
  | { kind: "output"; node: string; output: string } // another node's output
  | { kind: "literal"; literal: Literal }
  | { kind: "list"; items: Binding[] }
  | { kind: "map"; entries: Record<string, Binding> };

/** Comparison operators of branch conditions. */
export type ComparisonOperator = "eq" | "ne" | "gt" | "gte" | "lt" | "lte";

/** A branch condition: comparisons of bindings combined with and/or/not. */
export type Condition =
  | { kind: "compare"; op: ComparisonOperator; left: Binding; right: Binding }
  | { kind: "truthy"; value: Binding }
  | { kind: "and"; conditions: Condition[] }
  | { kind: "or"; conditions: Condition[] }
  | { kind: "not"; condition: Condition };

/** Per-node overrides of the target's metadata. */
export interface NodeMetadata {
  /** Human name, shown in run records. */
  name: string;
  retries?: number;
  timeoutMs?: number;
  interruptible?: boolean;
}

interface NodeBase {
  id: string;
  inputs: Record<string, Binding>;
  /** Nodes that must finish first: data dependencies plus `.after()` ordering. */
  upstream: string[];
  metadata: NodeMetadata;
  /** Types of the node's outputs (for validating downstream bindings without lookups). */
  outputs: Record<string, LiteralType>;
}

/** A node that runs a task. */
export interface TaskNode extends NodeBase {
  kind: "task";
  target: EntityRef;
}

/** A node that runs a subworkflow inline. */
export interface WorkflowNode extends NodeBase {
  kind: "workflow";
  target: EntityRef;
}

/** A node that launches a launch plan as a child execution. */
export interface LaunchPlanNode extends NodeBase {
  kind: "launch_plan";
  target: EntityRef;
}

/** A node that maps a task over lists: mapped inputs are lists, the rest are broadcast. */
export interface MapNode extends NodeBase {
  kind: "map";
  target: EntityRef;
  /** Which inputs are mapped (lists, one element per instance); the rest are passed whole. */
  mapped: string[];
  /** Most instances running at once; 0 means no limit beyond the execution's. */
  concurrency: number;
  /** Fraction of instances that must succeed; failed ones yield `none` in the outputs. */
  minSuccessRatio: number;
}

/** One case of a branch. */
export interface BranchCase {
  condition: Condition;
  node: Node;
}

/** A node that runs the first case whose condition holds, else `otherwise`. */
export interface BranchNode extends NodeBase {
  kind: "branch";
  cases: BranchCase[];
  /** The fallback node, or an error message when no case matches. */
  otherwise: { node: Node } | { error: string };
}

/** A workflow node. */
export type Node = TaskNode | WorkflowNode | LaunchPlanNode | MapNode | BranchNode;

/** What happens to the rest of a workflow when a node fails. */
export type FailurePolicy = "fail_immediately" | "fail_after_executable_nodes_complete";

/** The compiled form of a workflow: a DAG of nodes plus output bindings. */
export interface WorkflowSpec {
  name: string;
  interface: TypedInterface;
  nodes: Node[];
  outputs: Record<string, Binding>;
  failurePolicy: FailurePolicy;
  description?: string;
  source?: string;
}

/** What a schedule does with the ticks it missed while no scheduler ran: none, the latest one, or all (up to a limit). */
export type ScheduleCatchUp = "none" | "latest" | "all";
/** Whether a tick fires while an earlier scheduled execution of the launch plan still runs (`skip`: recorded as skipped). */
export type ScheduleConcurrency = "allow" | "skip";

/** What every schedule may say besides when it ticks. */
export interface SchedulePolicy {
  /** A datetime input that receives each tick's scheduled time. */
  kickoffTimeInput?: string;
  /** Ticks missed during downtime: default `latest`. */
  catchUp?: ScheduleCatchUp;
  /** With `all`, at most this many missed ticks fire (the most recent); default 100. */
  catchUpLimit?: number;
  /** Default `allow`. */
  concurrency?: ScheduleConcurrency;
}

/** Ticks on a cron expression, in an IANA time zone (default UTC). */
export interface CronSchedule extends SchedulePolicy {
  kind: "cron";
  expression: string;
  timezone?: string;
}

/** Ticks every `everyMs` from the moment the launch plan version was activated. */
export interface RateSchedule extends SchedulePolicy {
  kind: "rate";
  everyMs: number;
}

/** A schedule: a cron expression (with optional IANA time zone) or a fixed rate. */
export type Schedule = CronSchedule | RateSchedule;

/** The compiled form of a launch plan: a workflow with defaults, fixed inputs and a schedule. */
export interface LaunchPlanSpec {
  name: string;
  workflow: EntityRef;
  /** Defaults override the workflow's; callers may override them. */
  defaultInputs: Record<string, Literal>;
  /** Fixed inputs cannot be overridden by callers. */
  fixedInputs: Record<string, Literal>;
  schedule?: Schedule;
  maxParallelism?: number;
  labels: Record<string, string>;
  description?: string;
}

/** Tasks, workflows and launch plans defined together: what a bundle registers. */
export interface EntitySet {
  tasks: TaskSpec[];
  workflows: WorkflowSpec[];
  launchPlans: LaunchPlanSpec[];
}
