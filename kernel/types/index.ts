/**
 * The type engine: JS values <-> Literals, DataFrames <-> Arrow IPC, content hashes.
 *
 * @example
 * ```ts
 * import { createTypeEngine, createMemoryBlobStore } from "petrel";
 * const engine = createTypeEngine();
 * const ctx = { blobs: createMemoryBlobStore("/tmp/petrel"), where: "example" };
 * engine.toLiteral([1, 2], { kind: "list", items: { kind: "int" } }, ctx);
 * ```
 */
export * from "./engine.js";
export * from "./errors.js";
export * from "./hash.js";
export * from "./blobs.js";
export {
  DataFrameError,
  isDataFrameError,
  isArrowTable,
  isDanfoDataFrame,
  toArrowTable,
  encodeIPC,
  decodeIPC,
  tableToDanfo,
  schemaOf,
  checkSchema,
  type ColumnSchema,
} from "./dataframe.js";
export * from "./cache-key.js";
export * from "./adapt.js";
export { lazyModule } from "./lazy.js";
