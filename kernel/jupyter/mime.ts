/** MIME bundles, the unit of rich output in Jupyter, and HTML escaping for the ones the kernel writes. */

/** A MIME bundle: MIME type -> data (`text/plain`, `text/html`, `image/svg+xml`, ...). */
export type MimeBundle = Record<string, unknown>;

/** HTML-escapes text (also safe inside attribute values). */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
