/**
 * The execution engine: event-driven DAG propagation over persisted node state,
 * dispatch to a task runner, user and system retries, timeouts, terminate, map
 * nodes, branches, subworkflows, child launch plans, recovery, the shared catalog,
 * and resumption of every unfinished execution after a restart.
 */
export { createEngine, Engine, type EngineContext } from "./engine.js";
export { childExecutionName } from "./execution.js";
export type { EngineOptions } from "./types.js";
