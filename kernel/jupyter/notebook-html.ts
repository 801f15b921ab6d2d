/**
 * An executed notebook as one self-contained HTML page (what a notebook task hands
 * back beside the .ipynb): code cells with their source and outputs, markdown
 * cells rendered simply. Nothing is fetched when the page opens: images are
 * inlined as data URLs, styles are in the page.
 *
 * What is trusted: `text/html` and `image/svg+xml` outputs are embedded as they
 * are, as Jupyter shows them (the notebook's own code produced them). Everything
 * else (sources, streams, plain text, errors, markdown) is escaped, so a cell that
 * prints `<script>` shows it as text.
 */
import type { NotebookCell, NotebookDocument, NotebookOutput } from "./headless.js";
import { escapeHtml } from "./mime.js";

/** Options of {@link renderNotebookHtml}. */
export interface NotebookHtmlOptions {
  /** The page title (default: "Notebook"). */
  title?: string;
  /** A line under the title (which task ran it, when). */
  subtitle?: string;
}

/** Rich output types in the order a page prefers them, as Jupyter does. */
const PREFERRED_MIME_TYPES = ["text/html", "image/svg+xml", "image/png", "image/jpeg", "image/gif", "text/markdown", "application/json", "text/plain"] as const;

const STYLE = `
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; max-width: 72rem; margin: 2rem auto; padding: 0 1rem; color: #1f2328; line-height: 1.45; }
header { border-bottom: 1px solid #d0d7de; margin-bottom: 1.5rem; }
header p { color: #59636e; margin-top: 0; }
.cell { margin: 0 0 1.25rem; }
.code .source { position: relative; }
.prompt { color: #59636e; font: 0.75rem ui-monospace, monospace; margin-bottom: 0.2rem; }
pre { font: 0.85rem/1.4 ui-monospace, SFMono-Regular, Menlo, monospace; white-space: pre-wrap; word-break: break-word; margin: 0; padding: 0.6rem 0.8rem; border-radius: 6px; }
.source pre { background: #f6f8fa; border: 1px solid #d0d7de; }
.output { margin-top: 0.4rem; overflow-x: auto; }
.output pre { background: #fff; padding-left: 0.8rem; }
.output .stderr { background: #fff8e6; }
.output .error { background: #ffebe9; color: #82071e; }
.output img { max-width: 100%; }
.output table { border-collapse: collapse; font-size: 0.85rem; }
.output th, .output td { border: 1px solid #d0d7de; padding: 0.2rem 0.5rem; text-align: right; }
.output caption { text-align: left; color: #59636e; font-size: 0.8rem; }
.markdown code { background: #f6f8fa; padding: 0.1rem 0.3rem; border-radius: 4px; font-size: 0.9em; }
.markdown pre { background: #f6f8fa; }
.injected .source pre { border-color: #9a6700; }
`;

/**
 * Renders a notebook (nbformat 4, outputs included) as a self-contained HTML page.
 *
 * @example
 * ```ts
 * const run = await runNotebook("report.ipynb");
 * run.close();
 * writeFileSync("report.html", renderNotebookHtml(run.notebook, { title: "report.ipynb" }));
 * ```
 */
export function renderNotebookHtml(notebook: NotebookDocument, options: NotebookHtmlOptions = {}): string {
  const title = options.title ?? "Notebook";
  const body = notebook.cells.map((cell) => renderCell(cell)).join("\n");
  return [
    "<!DOCTYPE html>",
    '<html lang="en">',
    "<head>",
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(title)}</title>`,
    `<style>${STYLE}</style>`,
    "</head>",
    "<body>",
    `<header><h1>${escapeHtml(title)}</h1>${options.subtitle ? `<p>${escapeHtml(options.subtitle)}</p>` : ""}</header>`,
    "<main>",
    body,
    "</main>",
    "</body>",
    "</html>",
    "",
  ].join("\n");
}

const textOf = (source: unknown): string => (Array.isArray(source) ? source.join("") : typeof source === "string" ? source : "");

function renderCell(cell: NotebookCell): string {
  if (cell.cell_type === "markdown") return `<section class="cell markdown">${renderMarkdown(textOf(cell.source))}</section>`;
  if (cell.cell_type !== "code") return `<section class="cell raw"><pre>${escapeHtml(textOf(cell.source))}</pre></section>`;
  const tags = (cell.metadata?.tags as unknown[] | undefined) ?? [];
  const injected = tags.includes("injected-parameters");
  const count = typeof cell.execution_count === "number" ? String(cell.execution_count) : " ";
  const note = injected ? " parameters injected for this run" : tags.includes("parameters") ? " parameters (defaults)" : "";
  const outputs = (cell.outputs ?? []).map(renderOutput).filter(Boolean).join("\n");
  return [
    `<section class="cell code${injected ? " injected" : ""}">`,
    `<div class="source"><div class="prompt">In [${count}]:${escapeHtml(note)}</div><pre><code>${escapeHtml(textOf(cell.source))}</code></pre></div>`,
    outputs ? `<div class="output">${outputs}</div>` : "",
    "</section>",
  ].join("");
}

function renderOutput(output: NotebookOutput): string {
  switch (output.output_type) {
    case "stream": {
      const name = output.name === "stderr" ? "stderr" : "stdout";
      return `<pre class="${name}">${escapeHtml(stripAnsi(textOf(output.text)))}</pre>`;
    }
    case "error": {
      const traceback = Array.isArray(output.traceback) ? (output.traceback as unknown[]).map(String).join("\n") : "";
      const text = traceback || `${String(output.ename)}: ${String(output.evalue)}`;
      return `<pre class="error">${escapeHtml(stripAnsi(text))}</pre>`;
    }
    case "execute_result":
    case "display_data":
      return renderBundle((output.data ?? {}) as Record<string, unknown>);
    default:
      return "";
  }
}

function renderBundle(data: Record<string, unknown>): string {
  const type = PREFERRED_MIME_TYPES.find((t) => data[t] !== undefined);
  if (!type) return "";
  const value = data[type];
  switch (type) {
    case "text/html":
    case "image/svg+xml":
      return `<div>${textOf(value)}</div>`;
    case "image/png":
    case "image/jpeg":
    case "image/gif":
      return `<img alt="" src="data:${type};base64,${textOf(value).replace(/\s+/g, "")}">`;
    case "text/markdown":
      return `<div class="markdown">${renderMarkdown(textOf(value))}</div>`;
    case "application/json":
      return `<pre>${escapeHtml(JSON.stringify(value, null, 2) ?? "")}</pre>`;
    default:
      return `<pre>${escapeHtml(stripAnsi(textOf(value)))}</pre>`;
  }
}

/** Terminal colour codes (tracebacks carry them) mean nothing in a page. */
function stripAnsi(text: string): string {
  return text.replace(/\u001b\[[0-9;?]*[A-Za-z]/g, "");
}

/**
 * A small Markdown subset, enough for notebook prose: ATX headings, paragraphs,
 * fenced code, bullet and numbered lists, block quotes, horizontal rules, and inline
 * code, bold, italics and links. Text is escaped first; links keep http(s),
 * mailto and relative targets only.
 */
export function renderMarkdown(markdown: string): string {
  const lines = markdown.replace(/\r\n?/g, "\n").split("\n");
  const out: string[] = [];
  let paragraph: string[] = [];
  let list: { ordered: boolean; items: string[] } | undefined;
  const flushParagraph = () => {
    if (paragraph.length) out.push(`<p>${inline(paragraph.join(" "))}</p>`);
    paragraph = [];
  };
  const flushList = () => {
    if (list) out.push(`<${list.ordered ? "ol" : "ul"}>${list.items.map((i) => `<li>${inline(i)}</li>`).join("")}</${list.ordered ? "ol" : "ul"}>`);
    list = undefined;
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const fence = /^\s*(```|~~~)/.exec(line);
    if (fence) {
      flushParagraph();
      flushList();
      const code: string[] = [];
      for (i++; i < lines.length && !lines[i]!.trimStart().startsWith(fence[1]!); i++) code.push(lines[i]!);
      out.push(`<pre><code>${escapeHtml(code.join("\n"))}</code></pre>`);
      continue;
    }
    const heading = /^(#{1,6})\s+(.*?)\s*#*\s*$/.exec(line);
    const bullet = /^\s*[-*+]\s+(.*)$/.exec(line);
    const numbered = /^\s*\d+[.)]\s+(.*)$/.exec(line);
    if (heading) {
      flushParagraph();
      flushList();
      out.push(`<h${heading[1]!.length}>${inline(heading[2]!)}</h${heading[1]!.length}>`);
    } else if (/^\s*([-*_])(\s*\1){2,}\s*$/.test(line)) {
      flushParagraph();
      flushList();
      out.push("<hr>");
    } else if (bullet || numbered) {
      flushParagraph();
      const ordered = !bullet;
      if (list && list.ordered !== ordered) flushList();
      list ??= { ordered, items: [] };
      list.items.push((bullet ?? numbered)![1]!);
    } else if (/^\s*>/.test(line)) {
      flushParagraph();
      flushList();
      out.push(`<blockquote>${inline(line.replace(/^\s*>\s?/, ""))}</blockquote>`);
    } else if (line.trim() === "") {
      flushParagraph();
      flushList();
    } else if (list && /^\s{2,}\S/.test(line)) {
      list.items[list.items.length - 1] += ` ${line.trim()}`;
    } else {
      flushList();
      paragraph.push(line.trim());
    }
  }
  flushParagraph();
  flushList();
  return out.join("\n");
}

/** Inline Markdown over escaped text: code spans first, so nothing inside them is formatted. */
function inline(text: string): string {
  const spans: string[] = [];
  let html = text.replace(/`([^`]+)`/g, (_, code: string) => {
    spans.push(`<code>${escapeHtml(code)}</code>`);
    return `\u0000${spans.length - 1}\u0000`;
  });
  html = escapeHtml(html)
    .replace(/\[([^\]]+)\]\(([^)\s]+)\)/g, (whole, label: string, href: string) => (safeHref(href) ? `<a href="${href}">${label}</a>` : whole))
    .replace(/\*\*([^*]+)\*\*|__([^_]+)__/g, (_, a?: string, b?: string) => `<strong>${a ?? b}</strong>`)
    .replace(/(^|[^*\w])\*([^*\s][^*]*)\*/g, (_, pre: string, em: string) => `${pre}<em>${em}</em>`);
  return html.replace(/\u0000(\d+)\u0000/g, (_, i: string) => spans[Number(i)]!);
}

/** Link targets kept: web, mail and relative ones (already HTML-escaped); never `javascript:` and the like. */
function safeHref(href: string): boolean {
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(href);
  return !scheme || ["http", "https", "mailto"].includes(scheme[1]!.toLowerCase());
}
