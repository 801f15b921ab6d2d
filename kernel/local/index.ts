/**
 * The local engine: runs workflows in this process, in parallel, with retries,
 * timeouts, checkpoints and the content-addressed cache.
 *
 * @example
 * ```ts
 * const run = await training.run({ raw: df }, { maxParallelism: 8 });
 * run.nodes.clean.cache.status; // "HIT" on the second run
 * ```
 */
export * from "./engine.js";
export * from "./environment.js";
export * from "./errors.js";
export * from "./records.js";
export * from "./cache.js";
export * from "./sqlite-store.js";
export * from "./semaphore.js";
export * from "./dag.js";
