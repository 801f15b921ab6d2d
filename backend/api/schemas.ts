/**
 * JSON Schemas of the API's own request and response bodies. They refer to the
 * model's types (`TaskSpec`, `LiteralMap`, ...) by absolute `$ref`, so the model
 * schema stays the one definition of a spec; the OpenAPI document inlines both.
 */
import { NAME_PATTERN, modelSchemaRef } from "../../kernel/index.js";

/** The `$id` of {@link API_SCHEMA}. */
export const API_SCHEMA_ID = "https://petrel.dev/schema/api.json";

/**
 * Versions: 1-128 printable characters from a conservative set (letters, digits,
 * `_ . : + = @ -`), starting with a letter, digit or underscore, so a version is
 * never a path (`..`, `/x`) and never carries control characters.
 */
export const VERSION_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.:+=@-]{0,127}$/;
/** Node ids as the DSL and the engine make them (`clean`, `clean-2`, `outer/inner`, `map[3]`). */
export const NODE_ID_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.:@+=\-[\]/]{0,255}$/;
/** Label keys: like names, plus `/` for domain-style prefixes (`team.io/owner`). */
export const LABEL_KEY_PATTERN = /^[A-Za-z_][A-Za-z0-9_./-]{0,127}$/;
/** Label values and other short texts: no control characters. */
export const PRINTABLE_PATTERN = /^[^\x00-\x1f\x7f]*$/;

const ref = (name: string) => ({ $ref: `#/$defs/${name}` });
const model = (name: Parameters<typeof modelSchemaRef>[0]) => ({ $ref: modelSchemaRef(name) });
const printable = (maxLength: number) => ({ type: "string", maxLength, pattern: PRINTABLE_PATTERN.source });
const name = { type: "string", pattern: NAME_PATTERN.source };
const closed = (properties: Record<string, unknown>, required: string[] = [], description?: string) => ({
  type: "object",
  ...(description ? { description } : {}),
  properties,
  required,
  additionalProperties: false,
});

/** Request and response schemas; each entry is addressable as `${API_SCHEMA_ID}#/$defs/<Name>`. */
export const API_SCHEMA = {
  $schema: "https://json-schema.org/draft/2020-12/schema",
  $id: API_SCHEMA_ID,
  $defs: {
    Labels: {
      type: "object",
      description: "Free-form key/value labels.",
      propertyNames: { pattern: LABEL_KEY_PATTERN.source },
      additionalProperties: printable(256),
      maxProperties: 64,
    },
    Version: { type: "string", pattern: VERSION_PATTERN.source, description: "An immutable version string." },
    BlobHash: { type: "string", pattern: "^sha256:[0-9a-f]{64}$" },
    Time: { type: "string", format: "date-time", description: "ISO-8601 UTC." },
    CreateProjectRequest: closed({ name, description: printable(1000), labels: ref("Labels") }, ["name"]),
    RegisterTaskRequest: closed({ spec: model("TaskSpec"), bundle: ref("BlobHash") }, ["spec"]),
    RegisterWorkflowRequest: closed({ spec: model("WorkflowSpec"), bundle: ref("BlobHash") }, ["spec"]),
    RegisterLaunchPlanRequest: closed({ spec: model("LaunchPlanSpec") }, ["spec"]),
    RegisterBundleRequest: closed({ version: ref("Version") }, [], "Without `version`, the bundle's hash is the version."),
    PromoteRequest: closed({ toDomain: name }, ["toDomain"]),
    EntityVersionRef: closed({ name, version: ref("Version") }, ["name"]),
    CreateExecutionRequest: closed(
      {
        name,
        launchPlan: ref("EntityVersionRef"),
        workflow: ref("EntityVersionRef"),
        inputs: model("LiteralMap"),
        labels: ref("Labels"),
        maxParallelism: { type: "integer", minimum: 0 },
        overwriteCache: { type: "boolean", description: "Recompute cacheable tasks and replace their catalog entries." },
      },
      [],
      "Exactly one of launchPlan or workflow. Without a version, a launch plan's active version (else its latest) and a workflow's latest version are used.",
    ),
    TerminateRequest: closed({ cause: { ...printable(2000), minLength: 1 } }, ["cause"]),
    RelaunchRequest: closed({ name, version: ref("Version") }, [], "`version`: rerun on another version of the workflow whose inputs fit the execution's."),
    Grant: closed(
      { project: name, role: { enum: ["viewer", "editor", "admin"] }, domains: { type: "array", items: name, uniqueItems: true, minItems: 1 } },
      ["project", "role"],
    ),
    CreateTokenRequest: closed(
      {
        name: { ...printable(100), minLength: 1 },
        grants: { type: "array", items: ref("Grant"), maxItems: 100 },
        expiresInMs: { type: "integer", minimum: 1 },
      },
      ["name", "grants"],
    ),
    WriteOutputsRequest: closed({ outputs: model("LiteralMap") }, ["outputs"]),
    CheckpointRequest: closed({ checkpoint: model("BlobRef") }, ["checkpoint"]),
    FailureRecord: closed(
      {
        kind: { enum: ["user", "system"] },
        code: { type: "string", maxLength: 200 },
        message: { type: "string", maxLength: 100_000 },
        stack: { type: "string", maxLength: 100_000 },
        retryable: { type: "boolean" },
      },
      ["kind", "code", "message", "retryable"],
    ),
    AttemptOutcome: {
      description: "How an attempt ended, as its runtime reports it.",
      oneOf: [
        closed({ phase: { const: "SUCCEEDED" }, outputs: model("LiteralMap") }, ["phase", "outputs"]),
        closed({ phase: { enum: ["FAILED", "TIMED_OUT"] }, error: ref("FailureRecord") }, ["phase", "error"]),
      ],
    },
    Error: closed(
      {
        error: closed(
          {
            code: { type: "string" },
            message: { type: "string" },
            field: { type: "string", description: "The request field at fault: a body path (`spec.nodes[0].target`), a path or query parameter." },
            details: { type: "object" },
          },
          ["code", "message"],
        ),
      },
      ["error"],
    ),
  },
} as const;

/** The name of one API schema entry. */
export type ApiSchemaDef = keyof (typeof API_SCHEMA)["$defs"];

/** The absolute `$ref` of an API schema entry. */
export function apiSchemaRef(def: ApiSchemaDef): string {
  return `${API_SCHEMA_ID}#/$defs/${def}`;
}
