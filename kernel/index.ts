/**
 * Petrel: typed pipelines that start in a notebook and run anywhere.
 *
 * @example
 * ```ts
 * import { notebookTask, task, workflow, t } from "petrel";
 *
 * const clean = task({
 *   name: "clean",
 *   inputs: { raw: t.dataframe(), minAge: t.int() },
 *   outputs: { df: t.dataframe() },
 *   cache: true,
 * }, async ({ raw, minAge }) => ({ df: raw.query(raw["age"].gt(minAge)) }));
 *
 * const training = workflow({
 *   name: "training",
 *   inputs: { raw: t.dataframe(), minAge: t.int().default(18) },
 *   outputs: { df: t.dataframe() },
 * }, ({ raw, minAge }) => ({ df: clean({ raw, minAge }).df }));
 *
 * const run = await training.run({ raw: df }); // local, parallel, cached
 * run.nodes.clean.cache.status;                // "POPULATED", then "HIT"
 *
 * // A notebook as a task: a cell tagged "parameters", outputs via petrel.record().
 * const report = notebookTask({
 *   name: "report",
 *   path: "report.ipynb",
 *   inputs: { rows: t.int() },
 *   outputs: { table: t.dataframe() },
 * });
 * ```
 */
export * from "./model/index.js";
export * from "./types/index.js";
export * from "./dsl/index.js";
export * from "./local/index.js";
export * from "./bundle/index.js";
export * from "./runtime/index.js";
