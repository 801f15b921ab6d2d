/**
 * A readable diff of two JSON values: the paths where they differ, with both
 * values. What a 409 on re-registration shows, so the user sees which field of
 * the spec changed without comparing two documents by eye.
 */

/** One difference: `stored` or `submitted` is absent when the path exists on one side only. */
export interface JsonDifference {
  path: string;
  stored?: unknown;
  submitted?: unknown;
}

/** Differences beyond this many are counted, not listed. */
export const MAX_DIFFERENCES = 25;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const join = (base: string, key: string) =>
  /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key) ? (base === "" ? key : `${base}.${key}`) : `${base}[${JSON.stringify(key)}]`;

/** The paths where `stored` and `submitted` differ, depth first, in key order. */
export function jsonDiff(stored: unknown, submitted: unknown, base = ""): JsonDifference[] {
  const out: JsonDifference[] = [];
  walk(stored, submitted, base, out);
  return out;
}

function walk(a: unknown, b: unknown, path: string, out: JsonDifference[]): void {
  if (isObject(a) && isObject(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    for (const k of keys) {
      const p = join(path, k);
      if (a[k] === undefined && b[k] === undefined) continue;
      if (!(k in b) || b[k] === undefined) out.push({ path: p, stored: a[k] });
      else if (!(k in a) || a[k] === undefined) out.push({ path: p, submitted: b[k] });
      else walk(a[k], b[k], p, out);
    }
    return;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      const p = `${path}[${i}]`;
      if (i >= b.length) out.push({ path: p, stored: a[i] });
      else if (i >= a.length) out.push({ path: p, submitted: b[i] });
      else walk(a[i], b[i], p, out);
    }
    return;
  }
  if (!Object.is(a, b) && JSON.stringify(a) !== JSON.stringify(b)) out.push({ path: path || "(root)", stored: a, submitted: b });
}

const short = (v: unknown) => {
  if (v === undefined) return "(absent)";
  const s = JSON.stringify(v);
  return s.length > 60 ? `${s.slice(0, 60)}…` : s;
};

/** One line per difference, e.g. `spec.retries: 2 -> 3`. */
export function renderDiff(diff: readonly JsonDifference[]): string {
  const lines = diff.slice(0, MAX_DIFFERENCES).map((d) => `${d.path}: ${short(d.stored)} -> ${short(d.submitted)}`);
  if (diff.length > MAX_DIFFERENCES) lines.push(`... and ${diff.length - MAX_DIFFERENCES} more`);
  return lines.join("; ");
}
