/**
 * The Petrel Jupyter kernel: tslab's TypeScript engine behind a lossless protocol
 * server, with rich display, live progress of local runs and `%petrel` magics.
 *
 * ```sh
 * petrel kernel install --user      # then pick "TypeScript (Petrel)" in Jupyter
 * ```
 *
 * In a notebook, `display` is a global:
 *
 * @example
 * ```ts
 * display(df);                             // danfo DataFrame or Arrow table: an HTML table
 * display(training);                       // a workflow: its DAG as SVG
 * const status = display.text("loading");  // updated in place
 * status.text("done");
 * ```
 *
 * and these line magics run after the cell's code:
 *
 * ```
 * %petrel run training {"minAge": 21}   // local run, one live progress display
 * %petrel bundle training               // what would ship, and its hash
 * ```
 */
export { display, setDisplaySink } from "./display.js";
export type { Display, DisplayHandle, DisplayOptions, DisplaySink, MimeBundle } from "./display.js";
export { toMimeBundle, JUPYTER_DISPLAY } from "./format.js";
export { startKernel, kernelInfo } from "./kernel.js";
export type { KernelOptions, RunningKernel } from "./kernel.js";
export { installKernelSpec, kernelSpec, kernelsDir, KERNEL_NAME, DISPLAY_NAME } from "./kernelspec.js";
export type { InstallOptions, KernelSpec } from "./kernelspec.js";
export { MAGIC_USAGE } from "./magics.js";
export type { MagicContext, MagicExtension } from "./magics.js";
export type { CellRegistry } from "./cells.js";
export { UsageError } from "./errors.js";
export { renderDagSvg } from "./render-dag.js";
export { renderTable, arrowView, textTable, formatDuration, type TableView } from "./render-table.js";
export { escapeHtml } from "./mime.js";
// The wire format, for tools that talk to kernels.
export { Signer, encodeMessage, decodeMessage, createHeader, WireError, PROTOCOL_VERSION } from "./wire.js";
export type { ConnectionInfo, Message, MessageHeader } from "./wire.js";
export { Outbox, type Sendable } from "./outbox.js";
export { kernelCommand, type KernelCommandOptions } from "./command.js";
export { runNotebook, readNotebook } from "./headless.js";
export type { NotebookRun, NotebookDocument, NotebookCell, NotebookOutput, RunNotebookOptions } from "./headless.js";
export { VERSIONS } from "./versions.js";
