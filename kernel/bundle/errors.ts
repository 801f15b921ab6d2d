/** Errors of building and loading bundles. */
import { errorGuard, PetrelError } from "../model/index.js";

/** Stable codes of BundleError. */
export const BUNDLE_ERRORS = {
  /** A requested name, or a name the closure reads, is defined nowhere: not in the sources, not imported, not a global. */
  UNDEFINED_NAME: "UNDEFINED_NAME",
  /** The closure reaches a declaration whose value cannot be recomputed where the bundle loads (an open socket, a loaded DataFrame). */
  UNSHIPPABLE: "UNSHIPPABLE",
  /** A requested value is not a task, workflow or launch plan. */
  NOT_AN_ENTITY: "NOT_AN_ENTITY",
  /** An entity's defining declaration cannot be found in the sources. */
  DECLARATION_NOT_FOUND: "DECLARATION_NOT_FOUND",
  /** An entity given (or used by a workflow given) is not the latest definition of its name in the sources. */
  STALE_ENTITY: "STALE_ENTITY",
  /** A relative import names a file that does not exist. */
  UNRESOLVED_IMPORT: "UNRESOLVED_IMPORT",
  /** Bundle bytes that are not a bundle, have an unknown format version, or do not match the expected hash. */
  INVALID_BUNDLE: "INVALID_BUNDLE",
  /** A package the bundle imports is missing, or installed at another version than the bundle was built with. */
  PACKAGE_MISMATCH: "PACKAGE_MISMATCH",
  /** A loaded task's cache version differs from the one recorded at build time. */
  VERSION_MISMATCH: "VERSION_MISMATCH",
} as const;

/** A BundleError code. */
export type BundleErrorCode = (typeof BUNDLE_ERRORS)[keyof typeof BUNDLE_ERRORS];

/** Structured fields of a BundleError. */
export interface BundleErrorFields {
  /** The declaration (or requested name) at fault. */
  declaration?: string;
  /** Where it is defined: a file path or a cell label. */
  file?: string;
  line?: number;
  /** Why, in a few words ("its value is the result of calling readCSV(...)"). */
  reason?: string;
  /** How the closure reached it, from the requested entity: ["training", "clean", "df"]. */
  path?: string[];
}

/**
 * A bundle cannot be built or loaded. The message names the declaration and why;
 * the fields carry the same for tools.
 */
export class BundleError extends PetrelError {
  override name = "BundleError";
  declare readonly code: BundleErrorCode;
  readonly declaration?: string;
  readonly file?: string;
  readonly line?: number;
  readonly reason?: string;
  readonly path?: string[];

  constructor(code: BundleErrorCode, message: string, fields: BundleErrorFields = {}, options?: { cause?: unknown }) {
    super(code, message, { ...fields }, options);
    Object.assign(this, fields);
  }
}

/** Guard for BundleError across realms. */
export const isBundleError = errorGuard<BundleError>("BundleError");
