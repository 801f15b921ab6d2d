/** Kubernetes resource quantities ("500m", "2", "256Mi", "1.5Gi", "1e3") as numbers. */

const DECIMAL: Record<string, number> = { n: 1e-9, u: 1e-6, m: 1e-3, "": 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };
const BINARY: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };
const QUANTITY = /^([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:([eE][+-]?[0-9]+)|([numkMGTPE]|[KMGTPE]i))?$/;

/**
 * The value of a quantity: `"500m"` is 0.5, `"256Mi"` is 268435456, `"1e3"` is 1000.
 * Throws a RangeError naming the field for anything else.
 */
export function parseQuantity(text: string, field: string): number {
  const m = QUANTITY.exec(text.trim());
  if (!m) throw new RangeError(`${field}: ${JSON.stringify(text)} is not a Kubernetes quantity (examples: "2", "500m", "256Mi", "1Gi")`);
  const n = Number(m[1]);
  if (m[2]) return n * 10 ** Number(m[2].slice(1));
  const suffix = m[3] ?? "";
  return n * (BINARY[suffix] ?? DECIMAL[suffix]!);
}

/** Bytes, for memory: `"256Mi"` → 268435456 (whole bytes, rounded up). */
export function parseMemory(text: string, field: string): number {
  return Math.ceil(parseQuantity(text, field));
}

/** `268435456` → `"256 MiB"`, for messages. */
export function formatBytes(bytes: number): string {
  const units = ["bytes", "KiB", "MiB", "GiB", "TiB"];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} bytes` : `${v >= 100 ? v.toFixed(0) : v.toFixed(1)} ${units[i]}`;
}
