/** Checking an assignment that crossed a process boundary, with errors naming the field. */
import { RUNTIME_ERRORS, RuntimeError } from "./errors.js";
import type { AttemptAssignment } from "./protocol.js";

/** Parses and checks an assignment (JSON text or an object); throws a RuntimeError naming the first bad field. */
export function parseAssignment(value: unknown, source = "the assignment"): AttemptAssignment {
  let a: unknown = value;
  if (typeof value === "string") {
    try {
      a = JSON.parse(value);
    } catch (e) {
      throw invalid(`${source} is not JSON: ${(e as Error).message}`);
    }
  }
  const obj = record(a, source);
  const execution = record(obj.execution, `${source}.execution`);
  for (const key of ["project", "domain", "name"] as const) text(execution[key], `${source}.execution.${key}`);
  text(obj.node, `${source}.node`);
  count(obj.attempt, `${source}.attempt`, 0);
  count(obj.maxAttempts, `${source}.maxAttempts`, 1);
  const task = record(obj.task, `${source}.task`);
  text(task.name, `${source}.task.name`);
  text(obj.bundle, `${source}.bundle`);
  if (!/^sha256:[0-9a-f]{64}$/.test(obj.bundle as string)) throw invalid(`${source}.bundle ${JSON.stringify(obj.bundle)} is not sha256:<64 hex>`);
  if (obj.timeoutMs !== undefined && !(typeof obj.timeoutMs === "number" && obj.timeoutMs > 0)) {
    throw invalid(`${source}.timeoutMs ${JSON.stringify(obj.timeoutMs)} is not a positive number of milliseconds`);
  }
  if (obj.checkpoint !== undefined) text(record(obj.checkpoint, `${source}.checkpoint`).hash, `${source}.checkpoint.hash`);
  return obj as unknown as AttemptAssignment;
}

function invalid(message: string): RuntimeError {
  return new RuntimeError(RUNTIME_ERRORS.INVALID_ASSIGNMENT, message);
}

function record(v: unknown, where: string): Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw invalid(`${where} must be an object, got ${v === null ? "null" : Array.isArray(v) ? "an array" : typeof v}`);
  return v as Record<string, unknown>;
}

function text(v: unknown, where: string): void {
  if (typeof v !== "string" || v === "") throw invalid(`${where} must be a non-empty string, got ${JSON.stringify(v)}`);
}

function count(v: unknown, where: string, min: number): void {
  if (!Number.isSafeInteger(v) || (v as number) < min) throw invalid(`${where} must be an integer >= ${min}, got ${JSON.stringify(v)}`);
}
