/**
 * Source closures and bundles. A task's default cache version is the hash of its
 * code closure; the bundle builder ships exactly the declarations that tasks,
 * workflows and launch plans need, from notebook cells or a .ts file, as one JS
 * module plus a manifest, content-addressed; `loadBundle` runs it anywhere.
 *
 * @example
 * ```ts
 * import { buildBundle, createCellSources, loadBundle, registerSourceProvider } from "petrel";
 *
 * // In a notebook kernel: record every cell that ran.
 * const cells = createCellSources({ dir: notebookDir });
 * registerSourceProvider(cells.provider);
 * cells.add(1, 'import { task, workflow, t } from "petrel";');
 * // ... cells defining tasks and a workflow `training` ...
 * const bundle = buildBundle({ training }, { sources: cells }); // `%petrel bundle training`
 * bundle.hash;                                                   // the default version
 *
 * // Anywhere else, with no notebook around:
 * const { workflows } = await loadBundle(bundle.bytes());
 * await workflows.get("training")!.run({});
 * ```
 */
export { callerSite, codeClosure, describeSite, registerSourceProvider } from "./closure.js";
export type { CallSite, CodeClosure, SourceProvider } from "./closure.js";
export { buildBundle, BUNDLE_FORMAT_VERSION } from "./build.js";
export type { Bundle, BundleEntity, BundleManifest, BundleRoots, BuildBundleOptions, EntityKind, ShippedDeclaration } from "./build.js";
export { loadBundle, decodeBundle, DEFAULT_BUNDLE_DIR } from "./load.js";
export type { LoadBundleOptions, LoadedBundle, DecodedBundle } from "./load.js";
export { bundleAssetPath } from "./assets.js";
export type { BundleAsset } from "./assets.js";
export { declaredVariables, findRecordCalls } from "./notebook-cells.js";
export type { DeclarationKeyword, RecordCall } from "./notebook-cells.js";
export {
  createCellSources,
  fileSources,
  cellFileName,
  cellExecutionCount,
  CELL_FILE_PREFIX,
  CELL_FILE_EXTENSION,
} from "./sources.js";
export type { SourceSet, SourceText, CellSources, CellSourcesOptions } from "./sources.js";
export { BundleError, isBundleError, BUNDLE_ERRORS } from "./errors.js";
export type { BundleErrorCode, BundleErrorFields } from "./errors.js";
export { PETREL_DEFINITIONS, SHIPPABLE_CALLS, SHIPPABLE_CLASSES } from "./shippable.js";
