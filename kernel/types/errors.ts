/** Errors raised while converting values to literals and back. */
import { errorGuard, PetrelError } from "../model/index.js";

/** A value does not fit its declared type, or a literal does not match its type. */
export class TypeMismatchError extends PetrelError {
  override name = "TypeMismatchError";
  constructor(where: string, expected: string, actual: string, reason?: string) {
    super(
      "TYPE_MISMATCH",
      `${where}: expected ${expected}, got ${actual}${reason ? ` (${reason})` : ""}`,
      { where, expected, actual, ...(reason ? { reason } : {}) },
    );
  }
}
/** Guard for TypeMismatchError across realms. */
export const isTypeMismatchError = errorGuard<TypeMismatchError>("TypeMismatchError");

/** A blob a literal refers to is not in the store. */
export class BlobNotFoundError extends PetrelError {
  override name = "BlobNotFoundError";
  constructor(hash: string, where: string) {
    super("BLOB_NOT_FOUND", `blob ${hash} not found in ${where}`, { hash, where });
  }
}
/** Guard for BlobNotFoundError across realms. */
export const isBlobNotFoundError = errorGuard<BlobNotFoundError>("BlobNotFoundError");

/** A short description of a JS value for error messages: its kind and, when small, the value. */
export function describeValue(value: unknown): string {
  if (value === null) return "null";
  if (value === undefined) return "undefined";
  switch (typeof value) {
    case "number":
      return Number.isNaN(value) ? "NaN" : `${value} (number)`;
    case "bigint":
      return `${value}n (bigint)`;
    case "string":
      return `${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)} (string)`;
    case "boolean":
      return `${value} (boolean)`;
    case "function":
      return "a function";
    case "symbol":
      return "a symbol";
    default:
      break;
  }
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  if (value instanceof Date) return `Date ${Number.isNaN(value.getTime()) ? "Invalid Date" : value.toISOString()}`;
  if (value instanceof Uint8Array) return `${value.constructor.name} of ${value.byteLength} bytes`;
  const ctor = (value as object).constructor?.name;
  if (ctor && ctor !== "Object") return `a ${ctor}`;
  const keys = Object.keys(value as object);
  return `an object with keys {${keys.slice(0, 8).join(", ")}${keys.length > 8 ? ", …" : ""}}`;
}
