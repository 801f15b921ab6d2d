/**
 * Request validation against the model and API schemas, with errors that name
 * one field: an unknown field by its full path (`spec.interface.foo`), any other
 * violation at the deepest path ajv reports, in the body's own terms.
 */
import { Ajv2020, type ErrorObject, type ValidateFunction } from "ajv/dist/2020.js";
import { MODEL_SCHEMA } from "../../kernel/index.js";
import { API_ERRORS, ApiError } from "./errors.js";
import { API_SCHEMA, apiSchemaRef, type ApiSchemaDef } from "./schemas.js";

/** Compiled validators, one per request schema, shared by every app instance. */
let ajv: Ajv2020 | undefined;
const validators = new Map<ApiSchemaDef, ValidateFunction>();

function validatorFor(def: ApiSchemaDef): ValidateFunction {
  let v = validators.get(def);
  if (!v) {
    ajv ??= new Ajv2020({ allErrors: true, strict: true, formats: { "date-time": true } }).addSchema(MODEL_SCHEMA).addSchema(API_SCHEMA);
    v = ajv.getSchema(apiSchemaRef(def));
    if (!v) throw new Error(`no API schema ${def}`);
    validators.set(def, v);
  }
  return v;
}

/** `/spec/nodes/0/target` as `spec.nodes[0].target`. */
export function fieldPath(instancePath: string, extra?: string): string {
  const segments = instancePath === "" ? [] : instancePath.slice(1).split("/").map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"));
  if (extra !== undefined) segments.push(extra);
  let out = "";
  for (const s of segments) {
    if (/^(0|[1-9][0-9]*)$/.test(s)) out += `[${s}]`;
    else if (/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(s)) out += out === "" ? s : `.${s}`;
    else out += `[${JSON.stringify(s)}]`;
  }
  return out === "" ? "body" : out;
}

/** Keywords that only say "a sub-schema failed"; the sub-schema's own error is the useful one. */
const WRAPPERS = new Set(["if", "then", "else", "allOf", "anyOf", "oneOf", "not", "$ref"]);

/** The one error to report: an unknown field first, else the deepest concrete violation. */
function pick(errors: readonly ErrorObject[]): ErrorObject {
  const unknown = errors.find((e) => e.keyword === "additionalProperties");
  if (unknown) return unknown;
  const concrete = errors.filter((e) => !WRAPPERS.has(e.keyword));
  const pool = concrete.length > 0 ? concrete : errors;
  return pool.reduce((best, e) => (e.instancePath.split("/").length > best.instancePath.split("/").length ? e : best), pool[0]!);
}

/** Renders ajv's message for people. */
function describe(e: ErrorObject): string {
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case "required":
      return `is required`;
    case "enum":
      return `must be one of ${(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(", ")}`;
    case "const":
      return `must be ${JSON.stringify(p.allowedValue)}`;
    case "pattern":
      return `${JSON.stringify(truncate(e.data))} does not match ${String(p.pattern)}`;
    case "type":
      return `must be ${String(p.type)}, got ${describeJson(e.data)}`;
    default:
      return e.message ?? e.keyword;
  }
}

const truncate = (v: unknown) => (typeof v === "string" && v.length > 80 ? `${v.slice(0, 80)}…` : v);
const describeJson = (v: unknown) => (v === null ? "null" : Array.isArray(v) ? "an array" : typeof v === "object" ? "an object" : `${typeof v} ${JSON.stringify(truncate(v))}`);

/**
 * Checks `body` against an API schema and returns it typed; throws a 400
 * {@link ApiError} naming the field otherwise.
 */
export function validateBody<T>(def: ApiSchemaDef, body: unknown): T {
  const validate = validatorFor(def);
  if (validate(body)) return body as T;
  const e = pick(validate.errors ?? []);
  const p = e.params as Record<string, unknown>;
  if (e.keyword === "additionalProperties") {
    const field = fieldPath(e.instancePath, String(p.additionalProperty));
    return fail(new ApiError(400, API_ERRORS.UNKNOWN_FIELD, `unknown field ${field}`, { field }));
  }
  if (e.keyword === "required") {
    const field = fieldPath(e.instancePath, String(p.missingProperty));
    return fail(new ApiError(400, API_ERRORS.SCHEMA_VIOLATION, `${field}: is required`, { field }));
  }
  const field = fieldPath(e.instancePath);
  return fail(new ApiError(400, API_ERRORS.SCHEMA_VIOLATION, `${field}: ${describe(e)}`, { field, details: { keyword: e.keyword } }));
}

function fail(error: ApiError): never {
  throw error;
}
