/**
 * Source closures: what code a task depends on. The cache uses the closure's hash as
 * a task's default cache version; the bundle builder ships exactly these declarations.
 *
 * @example
 * ```ts
 * import { codeClosure } from "petrel";
 * const closure = codeClosure(myFn, { file: "/path/to/pipeline.ts", line: 12, column: 1 });
 * closure.declarations; // ["/path/to/pipeline.ts#normalize", ...]
 * ```
 */
export * from "./closure.js";
