/**
 * The base of every Petrel error: a stable `code`, a real `name`, and guards that
 * work across `vm` contexts (notebook cells run in one), so nothing relies on
 * `instanceof` alone.
 */

/** Error codes are stable strings, safe to match on in scripts and tests. */
export class PetrelError extends Error {
  override name = "PetrelError";
  /** Stable machine-readable code, e.g. `WORKFLOW_CYCLE`. */
  readonly code: string;
  /** Structured fields (node, input, expected, actual, ...). */
  readonly details: Record<string, unknown>;

  constructor(code: string, message: string, details: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.details = details;
  }
}

/** True for any Petrel error, from any realm. */
export function isPetrelError(x: unknown): x is PetrelError {
  return (
    typeof x === "object" &&
    x !== null &&
    typeof (x as { code?: unknown }).code === "string" &&
    typeof (x as { details?: unknown }).details === "object" &&
    typeof (x as { name?: unknown }).name === "string" &&
    /Error$/.test((x as { name: string }).name)
  );
}

/** A guard for one error class by name, across realms. */
export function errorGuard<T extends PetrelError>(name: string): (x: unknown) => x is T {
  return (x: unknown): x is T => isPetrelError(x) && x.name === name;
}
