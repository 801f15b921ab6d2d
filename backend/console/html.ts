/**
 * HTML with escaping by default: every page and fragment of the console is built
 * with the `html` tagged template, which escapes each interpolated value unless
 * it is itself the result of `html` (or the rare `trusted` constant). Task names,
 * labels, outputs, logs and error messages can therefore never become markup.
 */

/** Markup that is already safe: the result of `html`, never a raw user string. */
export class SafeHtml {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

/** What `html` accepts between `${}`: text (escaped), markup, nothing (null, undefined, false), or lists of these. */
export type HtmlValue = SafeHtml | string | number | boolean | null | undefined | readonly HtmlValue[];

const ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

/** Escapes text for element content and quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => ESCAPES[ch]!);
}

function render(value: HtmlValue): string {
  if (value instanceof SafeHtml) return value.value;
  if (value === null || value === undefined || value === false) return "";
  if (Array.isArray(value)) return (value as readonly HtmlValue[]).map(render).join("");
  return escapeHtml(String(value));
}

/**
 * Builds markup; interpolations are escaped unless they are `SafeHtml`.
 *
 * @example
 * ```ts
 * html`<td title="${label}">${value}</td>`; // label and value escaped
 * html`<ul>${items.map((i) => html`<li>${i}</li>`)}</ul>`;
 * ```
 */
export function html(strings: TemplateStringsArray, ...values: HtmlValue[]): SafeHtml {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i++) out += render(values[i]!) + strings[i + 1]!;
  return new SafeHtml(out);
}

/** Markup from a constant the console itself wrote (never from data). */
export function trusted(markup: string): SafeHtml {
  return new SafeHtml(markup);
}

/** Joins fragments with a separator (escaped when text). */
export function joinHtml(items: readonly HtmlValue[], separator: HtmlValue = ""): SafeHtml {
  const sep = render(separator);
  return new SafeHtml(items.map(render).join(sep));
}

/**
 * A console path from segments, each percent-encoded, so a name can never add a
 * segment, a query or a scheme: `href("projects", p, "domains", d)`.
 */
export function href(...segments: readonly string[]): string {
  return `/${segments.map(encodeURIComponent).join("/")}`;
}

/** A query string (with `?`) of the non-empty values, repeated keys kept; "" when none. */
export function queryString(params: Iterable<[string, string]>): string {
  const q = new URLSearchParams();
  for (const [k, v] of params) if (v !== "") q.append(k, v);
  const s = q.toString();
  return s === "" ? "" : `?${s}`;
}
