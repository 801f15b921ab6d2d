/**
 * The authoring DSL: `t` types, `task()`, `notebookTask()`, `workflow()`, `map()`,
 * `when()`, `launchPlan()`, and `record()` for notebooks run as tasks.
 *
 * @example
 * ```ts
 * const add = task({ name: "add", inputs: { a: t.int(), b: t.int() }, outputs: { sum: t.int() } },
 *   async ({ a, b }) => ({ sum: a + b }));
 * const wf = workflow({ name: "wf", inputs: { x: t.int() }, outputs: { y: t.int() } },
 *   ({ x }) => ({ y: add({ a: x, b: 1 }).sum }));
 * (await wf.run({ x: 1 })).outputs.y; // 2
 * ```
 */
export { t } from "./t.js";
export type { Type, AnyType, TypeMap, ValueOf, AcceptsOf, Values, Accepts, CallInputs, DataFrameFormat, DataFrameOptions, FilePath, ArrowTable, DanfoDataFrame } from "./t.js";
export { task } from "./task.js";
export type { Task, AnyTask, TaskOptions, TaskFunction, CacheOptions, ResourceOptions, BindInputs, OutputValues } from "./task.js";
export {
  notebookTask,
  NotebookTaskError,
  isNotebookTaskError,
  NOTEBOOK_TASK_ERRORS,
  NOTEBOOK_OUTPUTS,
  PARAMETERS_TAG,
  INJECTED_PARAMETERS_TAG,
} from "./notebook-task.js";
export type {
  NotebookTask,
  NotebookTaskOptions,
  NotebookFiles,
  NotebookInfo,
  NotebookTaskErrorCode,
  NotebookTaskErrorFields,
  NotebookRunRequest,
  NotebookRunResult,
  NotebookRunInput,
} from "./notebook-task.js";
export { record, setRecordSink } from "./record.js";
export type { RecordSink } from "./record.js";
export { workflow, isHandle } from "./workflow.js";
export type { Workflow, AnyWorkflow, WorkflowOptions, InputHandles, OutputBindings } from "./workflow.js";
export { map } from "./map.js";
export type { MapOptions, MappedTask, MapInputs } from "./map.js";
export { when } from "./when.js";
export type { Branch } from "./when.js";
export { launchPlan } from "./launch-plan.js";
export type { LaunchPlan, LaunchPlanOptions, ScheduleOptions, SchedulePolicyOptions } from "./launch-plan.js";
export { and, or, not } from "./handles.js";
export type { Handle, NodeOutputs, NodeRef, ConditionExpr, Operand } from "./handles.js";
export type { Bindable } from "./bindable.js";
export { WorkflowCompileError, isWorkflowCompileError, COMPILE_ERRORS } from "./errors.js";
export { validateWorkflowSpec } from "./compile.js";
export type { InterfaceLookup } from "./compile.js";
export { parseDuration } from "./duration.js";
export { WorkflowRun, PartialRun } from "./run.js";
export { renderRunTable } from "./render.js";
export type { EntityRegistry } from "./scope.js";
