/** Durations written the way people write them: "10m", "1h30m", "500ms", or milliseconds. */
import { PetrelError } from "../model/index.js";

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Milliseconds in a duration string or number; throws naming the bad text. */
export function parseDuration(value: string | number, what: string): number {
  if (typeof value === "number") {
    if (Number.isFinite(value) && value > 0) return value;
    throw new PetrelError("INVALID_DURATION", `${what}: expected a positive number of milliseconds, got ${value}`, { what });
  }
  const text = value.trim();
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;
  let total = 0;
  let matched = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    total += Number(m[1]) * UNITS[m[2]!]!;
    matched = re.lastIndex;
  }
  if (text.length === 0 || matched !== text.length || total <= 0) {
    throw new PetrelError(
      "INVALID_DURATION",
      `${what}: invalid duration ${JSON.stringify(value)} (examples: "500ms", "30s", "10m", "1h30m")`,
      { what, value },
    );
  }
  return total;
}
