/**
 * `display`: rich output from cells. In the Petrel kernel it is a global (like
 * IPython's `display`), type-checked like any other declaration; outside a kernel it
 * prints the text rendering.
 *
 * @example
 * ```ts
 * display(df);                               // a table
 * display.html("<b>bold</b>");
 * const progress = display.text("starting"); // one output, updated in place
 * progress.text("50%");
 * display.update(progress.id, "done");      // same, by id
 * display.clear({ wait: true });
 * ```
 */
import { randomUUID } from "node:crypto";
import { JUPYTER_DISPLAY, toMimeBundle } from "./format.js";
import type { MimeBundle } from "./mime.js";

export type { MimeBundle } from "./mime.js";

/** Options of every `display` function. */
export interface DisplayOptions {
  /** The display's id; a later `update` with the same id replaces it in place. Default: a fresh id. */
  id?: string;
  /** Replace the display `id` instead of adding an output. */
  update?: boolean;
  /** Output metadata (per MIME type, as Jupyter defines it). */
  metadata?: Record<string, unknown>;
}

/** One display that can be updated in place; the first call on a handle that was never shown shows it. */
export interface DisplayHandle {
  readonly id: string;
  /** Replaces the output with any value's rendering. */
  update(value: unknown): void;
  html(html: string): void;
  markdown(markdown: string): void;
  text(text: string): void;
  /** Replaces the output with a raw MIME bundle. */
  data(bundle: MimeBundle): void;
}

/** The `display` function and its helpers. */
export interface Display {
  /** Shows any value, rendered as it would be as a cell's result. */
  (value: unknown, options?: DisplayOptions): DisplayHandle;
  html(html: string, options?: DisplayOptions): DisplayHandle;
  markdown(markdown: string, options?: DisplayOptions): DisplayHandle;
  text(text: string, options?: DisplayOptions): DisplayHandle;
  svg(svg: string, options?: DisplayOptions): DisplayHandle;
  /** Shows JSON data (rendered as a tree by JupyterLab). */
  json(value: unknown, options?: DisplayOptions): DisplayHandle;
  /** Shows a raw MIME bundle. */
  data(bundle: MimeBundle, options?: DisplayOptions): DisplayHandle;
  /** Replaces the display `id` in place with any value's rendering. */
  update(id: string, value: unknown): void;
  /** A handle for a display not shown yet: its first call shows it, later calls update it. */
  create(id?: string): DisplayHandle;
  /** Clears the cell's output (`wait`: when the next output arrives). */
  clear(options?: { wait?: boolean }): void;
}

/** Where displays go: set by the kernel while it runs. */
export interface DisplaySink {
  show(bundle: MimeBundle, metadata: Record<string, unknown>, id: string, update: boolean): void;
  clear(wait: boolean): void;
}

let sink: DisplaySink | undefined;

/** Routes displays to `next` (the kernel); returns a function that restores the previous sink. */
export function setDisplaySink(next: DisplaySink | undefined): () => void {
  const previous = sink;
  sink = next;
  return () => {
    sink = previous;
  };
}

function send(bundle: MimeBundle | Promise<MimeBundle>, options: DisplayOptions, id: string): void {
  const metadata = options.metadata ?? {};
  const update = options.update === true;
  if (bundle instanceof Promise) {
    bundle.then(
      (b) => send(b, options, id),
      (e: unknown) => send({ "text/plain": `display failed: ${String(e)}` }, options, id),
    );
    return;
  }
  if (sink) sink.show(bundle, metadata, id, update);
  else console.log(typeof bundle["text/plain"] === "string" ? bundle["text/plain"] : JSON.stringify(bundle));
}

function show(bundle: MimeBundle | Promise<MimeBundle>, options: DisplayOptions = {}): DisplayHandle {
  const id = options.id ?? randomUUID();
  send(bundle, options, id);
  return handle(id, true);
}

function handle(id: string, shown: boolean): DisplayHandle {
  const put = (bundle: MimeBundle | Promise<MimeBundle>) => {
    send(bundle, { id, update: shown }, id);
    shown = true;
  };
  const h: DisplayHandle = {
    id,
    update: (value) => put(toMimeBundle(value)),
    html: (html) => put({ "text/html": html, "text/plain": html }),
    markdown: (markdown) => put({ "text/markdown": markdown, "text/plain": markdown }),
    text: (text) => put({ "text/plain": text }),
    data: (bundle) => put(bundle),
  };
  // A handle as a cell's last expression shows nothing (as IPython's display() returns None).
  return Object.defineProperty(h, JUPYTER_DISPLAY, { value: () => ({}) });
}

/** Rich output from cells; see the module comment. */
export const display: Display = Object.assign((value: unknown, options?: DisplayOptions) => show(toMimeBundle(value), options), {
  html: (html: string, options?: DisplayOptions) => show({ "text/html": html, "text/plain": html }, options),
  markdown: (markdown: string, options?: DisplayOptions) => show({ "text/markdown": markdown, "text/plain": markdown }, options),
  text: (text: string, options?: DisplayOptions) => show({ "text/plain": text }, options),
  svg: (svg: string, options?: DisplayOptions) => show({ "image/svg+xml": svg, "text/plain": "[SVG image]" }, options),
  json: (value: unknown, options?: DisplayOptions) =>
    show({ "application/json": JSON.parse(JSON.stringify(value ?? null)) as unknown, "text/plain": JSON.stringify(value, null, 2) }, options),
  data: (bundle: MimeBundle, options?: DisplayOptions) => show(bundle, options),
  update: (id: string, value: unknown) => send(toMimeBundle(value), { id, update: true }, id),
  create: (id?: string) => handle(id ?? randomUUID(), false),
  clear: (options?: { wait?: boolean }) => {
    if (sink) sink.clear(options?.wait === true);
  },
});
