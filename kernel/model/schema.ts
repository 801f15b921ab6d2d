/**
 * The JSON Schema (draft 2020-12) of the model: every spec, literal and type that
 * crosses the wire. The backend validates each registration against it before
 * anything is stored, so a malformed spec is rejected with the path of the bad
 * field instead of failing later inside the engine.
 *
 * Hand-written rather than generated so that it states what the TypeScript types
 * cannot: entity names match {@link NAME_PATTERN}, ints are decimal strings,
 * blob hashes are `sha256:<hex>`, a task node targets a task. Discriminated
 * unions dispatch on `kind` with `if`/`then`, so an error points at the one
 * variant the input claims to be (`/nodes/0/kind` for a misspelt kind,
 * `/nodes/0/target` for a bad target) rather than listing every variant.
 *
 * @example
 * ```ts
 * import { Ajv2020 } from "ajv/dist/2020.js";
 * const ajv = new Ajv2020({ allErrors: true }).addSchema(MODEL_SCHEMA);
 * const validateTask = ajv.getSchema(modelSchemaRef("TaskSpec"))!;
 * if (!validateTask(spec)) console.log(validateTask.errors);
 * ```
 */
import { NAME_PATTERN, type ResourceType } from "./identifier.js";
import type { BlobFormat, Literal } from "./literal.js";
import { COLUMN_KINDS, SCALAR_KINDS, type LiteralType } from "./literal-type.js";
import {
  QUANTITY_PATTERN,
  type Binding,
  type CacheSpec,
  type ComparisonOperator,
  type Condition,
  type FailurePolicy,
  type Node,
  type Schedule,
  type ScheduleCatchUp,
  type ScheduleConcurrency,
} from "./specs.js";
import { MAX_CATCH_UP_LIMIT } from "./schedule.js";

/**
 * The members of a string union as a list, checked both ways at compile time: a
 * value outside the union, or a member left out, is a type error here rather than
 * a schema that silently disagrees with the types.
 */
function unionMembers<T extends string>() {
  // A member left out turns the parameter type into `A & { missing: "dir" }`, which names it.
  return <const A extends readonly T[]>(
    values: A & ([Exclude<T, A[number]>] extends [never] ? unknown : { missing: Exclude<T, A[number]> }),
  ): A => values;
}

const LITERAL_TYPE_KINDS = unionMembers<LiteralType["kind"]>()([
  ...SCALAR_KINDS,
  "struct",
  "list",
  "map",
  "enum",
  "optional",
  "union",
  "dataframe",
  "file",
  "dir",
]);
const LITERAL_KINDS = unionMembers<Literal["kind"]>()([
  "none",
  "int",
  "float",
  "string",
  "bool",
  "datetime",
  "duration",
  "json",
  "list",
  "map",
  "union",
  "blob",
]);
const BLOB_FORMATS = unionMembers<BlobFormat>()(["arrow", "file", "dir"]);
const RESOURCE_TYPES = unionMembers<ResourceType>()(["task", "workflow", "launch_plan"]);
const CACHE_VERSION_SOURCES = unionMembers<CacheSpec["versionSource"]>()(["code-closure", "function-source", "explicit"]);
const BINDING_KINDS = unionMembers<Binding["kind"]>()(["input", "output", "literal", "list", "map"]);
const COMPARISON_OPERATORS = unionMembers<ComparisonOperator>()(["eq", "ne", "gt", "gte", "lt", "lte"]);
const CONDITION_KINDS = unionMembers<Condition["kind"]>()(["compare", "truthy", "and", "or", "not"]);
const NODE_KINDS = unionMembers<Node["kind"]>()(["task", "workflow", "launch_plan", "map", "branch"]);
const FAILURE_POLICIES = unionMembers<FailurePolicy>()(["fail_immediately", "fail_after_executable_nodes_complete"]);
const SCHEDULE_KINDS = unionMembers<Schedule["kind"]>()(["cron", "rate"]);
const SCHEDULE_CATCH_UPS = unionMembers<ScheduleCatchUp>()(["none", "latest", "all"]);
const SCHEDULE_CONCURRENCIES = unionMembers<ScheduleConcurrency>()(["allow", "skip"]);
const FLOAT_SPECIALS = ["NaN", "Infinity", "-Infinity"] as const;

/** The `$id` of {@link MODEL_SCHEMA}; every `$defs` entry is addressable as `${MODEL_SCHEMA_ID}#/$defs/<Name>`. */
export const MODEL_SCHEMA_ID = "https://petrel.dev/schema/model.json";

/** An int64 as a canonical decimal string: no leading zeros, no "-0", at most 19 digits (the exact range is the type engine's check). */
const INT_PATTERN = "^(?:0|-?[1-9][0-9]{0,18})$";
/** ISO-8601 in UTC as `Date.prototype.toISOString` writes it (six-digit years included); fractions up to nanoseconds. */
const DATETIME_PATTERN =
  "^(?:[0-9]{4}|[+-][0-9]{6})-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\\.[0-9]{1,9})?Z$";
/** Kubernetes resource quantities: "2", "0.5", "500m", "150Mi", "1e3", "1G". */
const QUANTITY = QUANTITY_PATTERN.source;
/** Five whitespace-separated fields or an @alias; the fields themselves are checked by `parseCron`. */
const CRON_SHAPE_PATTERN = "^\\s*(?:@[A-Za-z]+|\\S+(?:\\s+\\S+){4})\\s*$";

const name = { type: "string", pattern: NAME_PATTERN.source } as const;
const nonEmpty = { type: "string", minLength: 1 } as const;
const text = { type: "string" } as const;
const count = { type: "integer", minimum: 0 } as const;
/** A positive duration in milliseconds; fractions allowed, since the DSL's parseDuration accepts "0.5ms". */
const milliseconds = { type: "number", exclusiveMinimum: 0 } as const;
const stringMap = { type: "object", additionalProperties: { type: "string" } } as const;
const uniqueNames = { type: "array", items: nonEmpty, uniqueItems: true } as const;

/** The fields every schedule kind shares (SchedulePolicy). */
const schedulePolicy = {
  kickoffTimeInput: text,
  catchUp: { enum: SCHEDULE_CATCH_UPS },
  catchUpLimit: { type: "integer", minimum: 1, maximum: MAX_CATCH_UP_LIMIT },
  concurrency: { enum: SCHEDULE_CONCURRENCIES },
} as const;

/** The `if` of one variant of a union discriminated by `kind`. */
function kindIs<const K extends string>(kind: K) {
  return { type: "object", required: ["kind"], properties: { kind: { const: kind } } } as const;
}

/** A `target` that must name an entity of one resource type. */
function targetOf<const R extends ResourceType>(resourceType: R) {
  return {
    allOf: [{ $ref: "#/$defs/EntityRef" }, { type: "object", properties: { resourceType: { const: resourceType } } }],
  } as const;
}

const NODE_BASE_PROPERTIES = {
  id: nonEmpty,
  inputs: { type: "object", additionalProperties: { $ref: "#/$defs/Binding" } },
  upstream: { type: "array", items: nonEmpty, uniqueItems: true },
  metadata: { $ref: "#/$defs/NodeMetadata" },
  outputs: { type: "object", additionalProperties: { $ref: "#/$defs/LiteralType" } },
} as const;
const NODE_BASE_REQUIRED = ["id", "kind", "inputs", "upstream", "metadata", "outputs"] as const;

/**
 * The JSON Schema of the model. The root validates an {@link EntitySet} (what a
 * bundle registers); each type is also a `$defs` entry of its own, reachable with
 * {@link modelSchemaRef}. Objects are closed (`additionalProperties: false`).
 */
export const MODEL_SCHEMA = {
  $schema: "https://json-schema.org/draft/2020-12/schema",
  $id: MODEL_SCHEMA_ID,
  title: "Petrel model",
  description: "Tasks, workflows and launch plans as registered with a Petrel backend.",
  $ref: "#/$defs/EntitySet",
  $defs: {
    // ---- identifiers -------------------------------------------------------
    Name: { ...name, description: "An entity name (task, workflow, launch plan, project, domain)." },
    ResourceType: { enum: RESOURCE_TYPES },
    Identifier: {
      description: "The full identity of a registered entity.",
      type: "object",
      required: ["resourceType", "project", "domain", "name", "version"],
      properties: {
        resourceType: { $ref: "#/$defs/ResourceType" },
        project: { $ref: "#/$defs/Name" },
        domain: { $ref: "#/$defs/Name" },
        name: { $ref: "#/$defs/Name" },
        version: nonEmpty,
      },
      additionalProperties: false,
    },
    EntityRef: {
      description: "A reference to another entity by name; the version is pinned at registration.",
      type: "object",
      required: ["resourceType", "name"],
      properties: {
        resourceType: { $ref: "#/$defs/ResourceType" },
        name: { $ref: "#/$defs/Name" },
        version: nonEmpty,
      },
      additionalProperties: false,
    },

    // ---- types -------------------------------------------------------------
    LiteralType: {
      description: "The type of a value that flows between nodes.",
      type: "object",
      required: ["kind"],
      properties: { kind: { enum: LITERAL_TYPE_KINDS } },
      allOf: [
        { if: { type: "object", required: ["kind"], properties: { kind: { enum: SCALAR_KINDS } } }, then: { $ref: "#/$defs/ScalarType" } },
        { if: kindIs("struct"), then: { $ref: "#/$defs/StructType" } },
        { if: kindIs("list"), then: { $ref: "#/$defs/ListType" } },
        { if: kindIs("map"), then: { $ref: "#/$defs/MapType" } },
        { if: kindIs("enum"), then: { $ref: "#/$defs/EnumType" } },
        { if: kindIs("optional"), then: { $ref: "#/$defs/OptionalType" } },
        { if: kindIs("union"), then: { $ref: "#/$defs/UnionType" } },
        { if: kindIs("dataframe"), then: { $ref: "#/$defs/DataFrameType" } },
        { if: kindIs("file"), then: { $ref: "#/$defs/FileType" } },
        { if: kindIs("dir"), then: { $ref: "#/$defs/DirType" } },
      ],
    },
    ScalarType: {
      type: "object",
      required: ["kind"],
      properties: { kind: { enum: SCALAR_KINDS } },
      additionalProperties: false,
    },
    StructType: {
      type: "object",
      required: ["kind", "fields"],
      properties: {
        kind: { const: "struct" },
        fields: { type: "object", additionalProperties: { $ref: "#/$defs/LiteralType" } },
      },
      additionalProperties: false,
    },
    ListType: {
      type: "object",
      required: ["kind", "items"],
      properties: { kind: { const: "list" }, items: { $ref: "#/$defs/LiteralType" } },
      additionalProperties: false,
    },
    MapType: {
      type: "object",
      required: ["kind", "values"],
      properties: { kind: { const: "map" }, values: { $ref: "#/$defs/LiteralType" } },
      additionalProperties: false,
    },
    EnumType: {
      type: "object",
      required: ["kind", "values"],
      properties: {
        kind: { const: "enum" },
        values: { type: "array", items: text, minItems: 1, uniqueItems: true },
      },
      additionalProperties: false,
    },
    OptionalType: {
      type: "object",
      required: ["kind", "type"],
      properties: { kind: { const: "optional" }, type: { $ref: "#/$defs/LiteralType" } },
      additionalProperties: false,
    },
    UnionType: {
      type: "object",
      required: ["kind", "variants"],
      properties: {
        kind: { const: "union" },
        variants: { type: "array", items: { $ref: "#/$defs/LiteralType" }, minItems: 1 },
      },
      additionalProperties: false,
    },
    ColumnType: {
      type: "object",
      required: ["name", "kind"],
      properties: { name: nonEmpty, kind: { enum: COLUMN_KINDS } },
      additionalProperties: false,
    },
    DataFrameType: {
      type: "object",
      required: ["kind"],
      properties: {
        kind: { const: "dataframe" },
        columns: { type: "array", items: { $ref: "#/$defs/ColumnType" } },
      },
      additionalProperties: false,
    },
    FileType: {
      type: "object",
      required: ["kind"],
      properties: { kind: { const: "file" }, format: nonEmpty },
      additionalProperties: false,
    },
    DirType: {
      type: "object",
      required: ["kind"],
      properties: { kind: { const: "dir" } },
      additionalProperties: false,
    },

    // ---- values ------------------------------------------------------------
    BlobRef: {
      description: "A content-addressed reference to bytes in a blob store.",
      type: "object",
      required: ["hash", "size", "format"],
      properties: {
        hash: { type: "string", pattern: "^sha256:[0-9a-f]{64}$" },
        size: count,
        format: { enum: BLOB_FORMATS },
        filename: nonEmpty,
      },
      additionalProperties: false,
    },
    Literal: {
      description: "A value in transit between nodes.",
      type: "object",
      required: ["kind"],
      properties: { kind: { enum: LITERAL_KINDS } },
      allOf: [
        { if: kindIs("none"), then: { $ref: "#/$defs/NoneLiteral" } },
        { if: kindIs("int"), then: { $ref: "#/$defs/IntLiteral" } },
        { if: kindIs("float"), then: { $ref: "#/$defs/FloatLiteral" } },
        { if: kindIs("string"), then: { $ref: "#/$defs/StringLiteral" } },
        { if: kindIs("bool"), then: { $ref: "#/$defs/BoolLiteral" } },
        { if: kindIs("datetime"), then: { $ref: "#/$defs/DatetimeLiteral" } },
        { if: kindIs("duration"), then: { $ref: "#/$defs/DurationLiteral" } },
        { if: kindIs("json"), then: { $ref: "#/$defs/JsonLiteral" } },
        { if: kindIs("list"), then: { $ref: "#/$defs/ListLiteral" } },
        { if: kindIs("map"), then: { $ref: "#/$defs/MapLiteral" } },
        { if: kindIs("union"), then: { $ref: "#/$defs/UnionLiteral" } },
        { if: kindIs("blob"), then: { $ref: "#/$defs/BlobLiteral" } },
      ],
    },
    NoneLiteral: {
      type: "object",
      required: ["kind"],
      properties: { kind: { const: "none" } },
      additionalProperties: false,
    },
    IntLiteral: {
      type: "object",
      required: ["kind", "value"],
      properties: {
        kind: { const: "int" },
        value: { type: "string", pattern: INT_PATTERN, description: "Decimal string, so int64 keeps its precision in JSON." },
      },
      additionalProperties: false,
    },
    FloatLiteral: {
      type: "object",
      required: ["kind", "value"],
      properties: {
        kind: { const: "float" },
        value: { anyOf: [{ type: "number" }, { enum: FLOAT_SPECIALS }] },
      },
      additionalProperties: false,
    },
    StringLiteral: {
      type: "object",
      required: ["kind", "value"],
      properties: { kind: { const: "string" }, value: text },
      additionalProperties: false,
    },
    BoolLiteral: {
      type: "object",
      required: ["kind", "value"],
      properties: { kind: { const: "bool" }, value: { type: "boolean" } },
      additionalProperties: false,
    },
    DatetimeLiteral: {
      type: "object",
      required: ["kind", "value"],
      properties: { kind: { const: "datetime" }, value: { type: "string", pattern: DATETIME_PATTERN } },
      additionalProperties: false,
    },
    DurationLiteral: {
      type: "object",
      required: ["kind", "value"],
      properties: { kind: { const: "duration" }, value: { type: "number", description: "Milliseconds." } },
      additionalProperties: false,
    },
    JsonLiteral: {
      type: "object",
      required: ["kind", "value"],
      properties: { kind: { const: "json" }, value: { description: "Any JSON value." } },
      additionalProperties: false,
    },
    ListLiteral: {
      type: "object",
      required: ["kind", "items"],
      properties: { kind: { const: "list" }, items: { type: "array", items: { $ref: "#/$defs/Literal" } } },
      additionalProperties: false,
    },
    MapLiteral: {
      type: "object",
      required: ["kind", "entries"],
      properties: {
        kind: { const: "map" },
        entries: { type: "object", additionalProperties: { $ref: "#/$defs/Literal" } },
      },
      additionalProperties: false,
    },
    UnionLiteral: {
      type: "object",
      required: ["kind", "variant", "value"],
      properties: { kind: { const: "union" }, variant: count, value: { $ref: "#/$defs/Literal" } },
      additionalProperties: false,
    },
    BlobLiteral: {
      type: "object",
      required: ["kind", "blob"],
      properties: { kind: { const: "blob" }, blob: { $ref: "#/$defs/BlobRef" } },
      additionalProperties: false,
    },
    LiteralMap: {
      description: "A named set of literals: the inputs or outputs of a node.",
      type: "object",
      additionalProperties: { $ref: "#/$defs/Literal" },
    },

    // ---- interfaces and tasks ----------------------------------------------
    Variable: {
      description: "One named input or output.",
      type: "object",
      required: ["type"],
      properties: { type: { $ref: "#/$defs/LiteralType" }, description: text, default: { $ref: "#/$defs/Literal" } },
      additionalProperties: false,
    },
    TypedInterface: {
      description: "Inputs and outputs of a task or workflow.",
      type: "object",
      required: ["inputs", "outputs"],
      properties: {
        inputs: { type: "object", additionalProperties: { $ref: "#/$defs/Variable" } },
        outputs: { type: "object", additionalProperties: { $ref: "#/$defs/Variable" } },
      },
      additionalProperties: false,
    },
    ResourceList: {
      description: "Resource quantities in Kubernetes notation.",
      type: "object",
      properties: {
        cpu: { type: "string", pattern: QUANTITY },
        mem: { type: "string", pattern: QUANTITY },
        gpu: { type: "string", pattern: QUANTITY },
        storage: { type: "string", pattern: QUANTITY },
        ephemeralStorage: { type: "string", pattern: QUANTITY },
      },
      additionalProperties: false,
    },
    Resources: {
      type: "object",
      properties: { requests: { $ref: "#/$defs/ResourceList" }, limits: { $ref: "#/$defs/ResourceList" } },
      additionalProperties: false,
    },
    CacheSpec: {
      type: "object",
      required: ["enabled", "version", "versionSource", "ignoredInputs", "serialize"],
      properties: {
        enabled: { type: "boolean" },
        version: text,
        versionSource: { enum: CACHE_VERSION_SOURCES },
        ignoredInputs: uniqueNames,
        serialize: { type: "boolean" },
      },
      additionalProperties: false,
    },
    TaskSpec: {
      description: "The compiled form of a task.",
      type: "object",
      required: ["name", "interface", "cache", "retries", "resources", "env", "secrets", "interruptible"],
      properties: {
        name: { $ref: "#/$defs/Name" },
        interface: { $ref: "#/$defs/TypedInterface" },
        cache: { $ref: "#/$defs/CacheSpec" },
        retries: count,
        timeoutMs: milliseconds,
        resources: { $ref: "#/$defs/Resources" },
        image: nonEmpty,
        env: stringMap,
        secrets: uniqueNames,
        interruptible: { type: "boolean" },
        description: text,
        source: text,
      },
      additionalProperties: false,
    },

    // ---- workflows -----------------------------------------------------------
    Binding: {
      description: "Where a node input's value comes from.",
      type: "object",
      required: ["kind"],
      properties: { kind: { enum: BINDING_KINDS } },
      allOf: [
        { if: kindIs("input"), then: { $ref: "#/$defs/InputBinding" } },
        { if: kindIs("output"), then: { $ref: "#/$defs/OutputBinding" } },
        { if: kindIs("literal"), then: { $ref: "#/$defs/LiteralBinding" } },
        { if: kindIs("list"), then: { $ref: "#/$defs/ListBinding" } },
        { if: kindIs("map"), then: { $ref: "#/$defs/MapBinding" } },
      ],
    },
    InputBinding: {
      type: "object",
      required: ["kind", "name"],
      properties: { kind: { const: "input" }, name: text },
      additionalProperties: false,
    },
    OutputBinding: {
      type: "object",
      required: ["kind", "node", "output"],
      properties: { kind: { const: "output" }, node: nonEmpty, output: text },
      additionalProperties: false,
    },
    LiteralBinding: {
      type: "object",
      required: ["kind", "literal"],
      properties: { kind: { const: "literal" }, literal: { $ref: "#/$defs/Literal" } },
      additionalProperties: false,
    },
    ListBinding: {
      type: "object",
      required: ["kind", "items"],
      properties: { kind: { const: "list" }, items: { type: "array", items: { $ref: "#/$defs/Binding" } } },
      additionalProperties: false,
    },
    MapBinding: {
      type: "object",
      required: ["kind", "entries"],
      properties: {
        kind: { const: "map" },
        entries: { type: "object", additionalProperties: { $ref: "#/$defs/Binding" } },
      },
      additionalProperties: false,
    },
    Condition: {
      description: "A branch condition: comparisons of bindings combined with and/or/not.",
      type: "object",
      required: ["kind"],
      properties: { kind: { enum: CONDITION_KINDS } },
      allOf: [
        {
          if: kindIs("compare"),
          then: {
            type: "object",
            required: ["kind", "op", "left", "right"],
            properties: {
              kind: { const: "compare" },
              op: { enum: COMPARISON_OPERATORS },
              left: { $ref: "#/$defs/Binding" },
              right: { $ref: "#/$defs/Binding" },
            },
            additionalProperties: false,
          },
        },
        {
          if: kindIs("truthy"),
          then: {
            type: "object",
            required: ["kind", "value"],
            properties: { kind: { const: "truthy" }, value: { $ref: "#/$defs/Binding" } },
            additionalProperties: false,
          },
        },
        {
          if: { type: "object", required: ["kind"], properties: { kind: { enum: ["and", "or"] } } },
          then: {
            type: "object",
            required: ["kind", "conditions"],
            properties: {
              kind: { enum: ["and", "or"] },
              conditions: { type: "array", items: { $ref: "#/$defs/Condition" } },
            },
            additionalProperties: false,
          },
        },
        {
          if: kindIs("not"),
          then: {
            type: "object",
            required: ["kind", "condition"],
            properties: { kind: { const: "not" }, condition: { $ref: "#/$defs/Condition" } },
            additionalProperties: false,
          },
        },
      ],
    },
    NodeMetadata: {
      type: "object",
      required: ["name"],
      properties: { name: text, retries: count, timeoutMs: milliseconds, interruptible: { type: "boolean" } },
      additionalProperties: false,
    },
    Node: {
      description: "A workflow node; branch nodes nest nodes of any kind.",
      type: "object",
      required: ["kind"],
      properties: { kind: { enum: NODE_KINDS } },
      allOf: [
        { if: kindIs("task"), then: { $ref: "#/$defs/TaskNode" } },
        { if: kindIs("workflow"), then: { $ref: "#/$defs/WorkflowNode" } },
        { if: kindIs("launch_plan"), then: { $ref: "#/$defs/LaunchPlanNode" } },
        { if: kindIs("map"), then: { $ref: "#/$defs/MapNode" } },
        { if: kindIs("branch"), then: { $ref: "#/$defs/BranchNode" } },
      ],
    },
    TaskNode: {
      description: "A node that runs a task.",
      type: "object",
      required: [...NODE_BASE_REQUIRED, "target"],
      properties: { ...NODE_BASE_PROPERTIES, kind: { const: "task" }, target: targetOf("task") },
      additionalProperties: false,
    },
    WorkflowNode: {
      description: "A node that runs a subworkflow inline.",
      type: "object",
      required: [...NODE_BASE_REQUIRED, "target"],
      properties: { ...NODE_BASE_PROPERTIES, kind: { const: "workflow" }, target: targetOf("workflow") },
      additionalProperties: false,
    },
    LaunchPlanNode: {
      description: "A node that launches a launch plan as a child execution.",
      type: "object",
      required: [...NODE_BASE_REQUIRED, "target"],
      properties: { ...NODE_BASE_PROPERTIES, kind: { const: "launch_plan" }, target: targetOf("launch_plan") },
      additionalProperties: false,
    },
    MapNode: {
      description: "A node that maps a task over lists.",
      type: "object",
      required: [...NODE_BASE_REQUIRED, "target", "mapped", "concurrency", "minSuccessRatio"],
      properties: {
        ...NODE_BASE_PROPERTIES,
        kind: { const: "map" },
        target: targetOf("task"),
        mapped: { ...uniqueNames, minItems: 1 },
        concurrency: count,
        minSuccessRatio: { type: "number", minimum: 0, maximum: 1 },
      },
      additionalProperties: false,
    },
    BranchCase: {
      type: "object",
      required: ["condition", "node"],
      properties: { condition: { $ref: "#/$defs/Condition" }, node: { $ref: "#/$defs/Node" } },
      additionalProperties: false,
    },
    BranchNode: {
      description: "A node that runs the first case whose condition holds, else `otherwise`.",
      type: "object",
      required: [...NODE_BASE_REQUIRED, "cases", "otherwise"],
      properties: {
        ...NODE_BASE_PROPERTIES,
        kind: { const: "branch" },
        cases: { type: "array", items: { $ref: "#/$defs/BranchCase" }, minItems: 1 },
        otherwise: {
          type: "object",
          if: { type: "object", required: ["node"], properties: { node: true } },
          then: {
            type: "object",
            required: ["node"],
            properties: { node: { $ref: "#/$defs/Node" } },
            additionalProperties: false,
          },
          else: {
            type: "object",
            required: ["error"],
            properties: { error: nonEmpty },
            additionalProperties: false,
          },
        },
      },
      additionalProperties: false,
    },
    WorkflowSpec: {
      description: "The compiled form of a workflow: a DAG of nodes plus output bindings.",
      type: "object",
      required: ["name", "interface", "nodes", "outputs", "failurePolicy"],
      properties: {
        name: { $ref: "#/$defs/Name" },
        interface: { $ref: "#/$defs/TypedInterface" },
        nodes: { type: "array", items: { $ref: "#/$defs/Node" } },
        outputs: { type: "object", additionalProperties: { $ref: "#/$defs/Binding" } },
        failurePolicy: { enum: FAILURE_POLICIES },
        description: text,
        source: text,
      },
      additionalProperties: false,
    },

    // ---- launch plans --------------------------------------------------------
    Schedule: {
      description: "A cron expression (with optional IANA time zone) or a fixed rate, with what to do about missed ticks (catchUp, catchUpLimit) and overlapping runs (concurrency).",
      type: "object",
      required: ["kind"],
      properties: { kind: { enum: SCHEDULE_KINDS } },
      allOf: [
        {
          if: kindIs("cron"),
          then: {
            type: "object",
            required: ["kind", "expression"],
            properties: {
              kind: { const: "cron" },
              expression: { type: "string", pattern: CRON_SHAPE_PATTERN },
              timezone: nonEmpty,
              ...schedulePolicy,
            },
            additionalProperties: false,
          },
        },
        {
          if: kindIs("rate"),
          then: {
            type: "object",
            required: ["kind", "everyMs"],
            properties: { kind: { const: "rate" }, everyMs: milliseconds, ...schedulePolicy },
            additionalProperties: false,
          },
        },
      ],
    },
    LaunchPlanSpec: {
      description: "A workflow with defaults, fixed inputs and a schedule.",
      type: "object",
      required: ["name", "workflow", "defaultInputs", "fixedInputs", "labels"],
      properties: {
        name: { $ref: "#/$defs/Name" },
        workflow: targetOf("workflow"),
        defaultInputs: { $ref: "#/$defs/LiteralMap" },
        fixedInputs: { $ref: "#/$defs/LiteralMap" },
        schedule: { $ref: "#/$defs/Schedule" },
        maxParallelism: count,
        labels: stringMap,
        description: text,
      },
      additionalProperties: false,
    },
    EntitySet: {
      description: "Tasks, workflows and launch plans defined together: what a bundle registers.",
      type: "object",
      required: ["tasks", "workflows", "launchPlans"],
      properties: {
        tasks: { type: "array", items: { $ref: "#/$defs/TaskSpec" } },
        workflows: { type: "array", items: { $ref: "#/$defs/WorkflowSpec" } },
        launchPlans: { type: "array", items: { $ref: "#/$defs/LaunchPlanSpec" } },
      },
      additionalProperties: false,
    },
  },
} as const;

/** The name of one `$defs` entry of {@link MODEL_SCHEMA}, e.g. `"TaskSpec"`. */
export type ModelSchemaDef = keyof (typeof MODEL_SCHEMA)["$defs"];

/**
 * The absolute `$ref` of one model type, for looking a validator up once the
 * schema has been added to a validator instance.
 *
 * @example
 * ```ts
 * modelSchemaRef("WorkflowSpec"); // "https://petrel.dev/schema/model.json#/$defs/WorkflowSpec"
 * ```
 */
export function modelSchemaRef(def: ModelSchemaDef): string {
  return `${MODEL_SCHEMA_ID}#/$defs/${def}`;
}
