/**
 * The typed workflow model: plain JSON data shared by the kernel, the backend and
 * the remote client. No I/O here; everything is serializable as-is.
 *
 * @example
 * ```ts
 * import { typeToString, isAssignable } from "petrel";
 * isAssignable({ kind: "int" }, { kind: "optional", type: { kind: "int" } }); // true
 * typeToString({ kind: "list", items: { kind: "string" } });                 // "list<string>"
 * ```
 */
export * from "./literal-type.js";
export * from "./literal.js";
export * from "./identifier.js";
export * from "./phases.js";
export * from "./specs.js";
export * from "./errors.js";
export * from "./cron.js";
export * from "./schedule.js";
export * from "./schema.js";
