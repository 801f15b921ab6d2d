/**
 * The remote client: a FlyteRemote-style `Remote` over a Petrel backend's API
 * (axios underneath), and the kernel magics built on it.
 *
 * @example
 * ```ts
 * import { Remote } from "petrel/remote";
 *
 * const remote = new Remote({ endpoint: "http://127.0.0.1:8080", project: "demo", token });
 * await remote.register({ training });                          // the bundle, once; idempotent
 * const run = await remote.execute(training, { minAge: 21 }, { wait: true });
 * await run.outputs.get("model");                               // typed, decoded on request
 * const df = await run.nodes.clean!.outputs.dataframe("df");
 * await df.head(100, { columns: ["age", "churned"] });          // reads only those rows
 * await remote.promote(training, run.workflow.version, { to: "production" });
 * ```
 */
export { Remote, describeInputs } from "./remote.js";
export type {
  EntityInfo,
  EntityName,
  Executable,
  ExecuteOptions,
  ExecutionFilter,
  ExecutionPage,
  Promotion,
  PromotionChange,
  Registration,
  WaitOptions,
} from "./remote.js";
export { RemoteExecution, RemoteNode, Values } from "./execution.js";
export type { AttemptView, ExecutionId, ExecutionView, NodeView } from "./execution.js";
export { RemoteDataFrame, type SliceOptions } from "./dataframe.js";
export { RemoteError, isRemoteError, REMOTE_ERRORS, type RemoteErrorCode } from "./errors.js";
export { resolveConfig, setDefaultConnection, writeConfigFile, configFilePath, type RemoteConfig, type RemoteOptions } from "./config.js";
export type { ValueOptions } from "./values.js";
export { nodeTableText, type NodeRow } from "./render.js";
export { Schedules, derivedVersion, describeSchedule, type ScheduleChange, type ScheduleList, type ScheduleView } from "./schedules.js";
export { kernelMagics, lastExecution } from "./magics.js";
