/**
 * Cron expressions: five fields (minute hour day-of-month month day-of-week) or an
 * alias (@hourly, @daily, @midnight, @weekly, @monthly, @yearly, @annually), with
 * an optional IANA time zone. Pure computation, shared by the DSL (validation at
 * definition) and the backend scheduler (next tick).
 */
import { PetrelError } from "./errors.js";

/** A parsed cron expression. */
export interface CronExpression {
  source: string;
  minutes: ReadonlySet<number>;
  hours: ReadonlySet<number>;
  daysOfMonth: ReadonlySet<number>;
  months: ReadonlySet<number>;
  daysOfWeek: ReadonlySet<number>;
  /** Vixie semantics: when both day fields are restricted, either may match. */
  domRestricted: boolean;
  dowRestricted: boolean;
}

const ALIASES: Record<string, string> = {
  "@yearly": "0 0 1 1 *",
  "@annually": "0 0 1 1 *",
  "@monthly": "0 0 1 * *",
  "@weekly": "0 0 * * 0",
  "@daily": "0 0 * * *",
  "@midnight": "0 0 * * *",
  "@hourly": "0 * * * *",
};

const MONTH_NAMES = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
const DAY_NAMES = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

interface FieldDef {
  name: string;
  min: number;
  max: number;
  names?: string[];
  namesStart?: number;
}

const FIELDS: FieldDef[] = [
  { name: "minute", min: 0, max: 59 },
  { name: "hour", min: 0, max: 23 },
  { name: "day-of-month", min: 1, max: 31 },
  { name: "month", min: 1, max: 12, names: MONTH_NAMES, namesStart: 1 },
  { name: "day-of-week", min: 0, max: 7, names: DAY_NAMES, namesStart: 0 },
];

/** The error for a malformed cron expression or time zone. */
export class CronError extends PetrelError {
  override name = "CronError";
  constructor(expression: string, problem: string, message = `invalid cron expression ${JSON.stringify(expression)}: ${problem}`) {
    super("INVALID_CRON", message, { expression, problem });
  }
}

/** Parses and validates a cron expression; throws CronError naming the bad field. */
export function parseCron(expression: string): CronExpression {
  const trimmed = expression.trim();
  const expanded = trimmed.startsWith("@") ? ALIASES[trimmed.toLowerCase()] : trimmed;
  if (expanded === undefined) {
    throw new CronError(expression, `unknown alias ${trimmed} (known: ${Object.keys(ALIASES).join(", ")})`);
  }
  const parts = expanded.split(/\s+/).filter(Boolean);
  if (parts.length !== 5) {
    throw new CronError(expression, `expected 5 fields (minute hour day-of-month month day-of-week), got ${parts.length}`);
  }
  const sets = parts.map((p, i) => parseField(expression, p, FIELDS[i]!));
  const dow = new Set([...sets[4]!].map((d) => (d === 7 ? 0 : d)));
  return {
    source: trimmed,
    minutes: sets[0]!,
    hours: sets[1]!,
    daysOfMonth: sets[2]!,
    months: sets[3]!,
    daysOfWeek: dow,
    // Vixie cron: a day field starting with * (even */2) counts as unrestricted.
    domRestricted: !/^[*?]/.test(parts[2]!),
    dowRestricted: !/^[*?]/.test(parts[4]!),
  };
}

function parseField(expression: string, text: string, def: FieldDef): Set<number> {
  const out = new Set<number>();
  for (const item of text.split(",")) {
    const [rangeText, stepText] = item.split("/") as [string, string | undefined];
    if (item.split("/").length > 2) throw new CronError(expression, `${def.name} field "${text}" has more than one "/"`);
    let step = 1;
    if (stepText !== undefined) {
      if (!/^\d+$/.test(stepText) || Number(stepText) === 0) {
        throw new CronError(expression, `${def.name} field "${text}" has an invalid step "${stepText}"`);
      }
      step = Number(stepText);
    }
    let lo: number;
    let hi: number;
    if (rangeText === "*" || rangeText === "?") {
      lo = def.min;
      hi = def.max;
    } else if (rangeText.includes("-")) {
      const bounds = rangeText.split("-");
      if (bounds.length !== 2) throw new CronError(expression, `${def.name} range "${rangeText}" must have two bounds`);
      lo = parseValue(expression, bounds[0]!, def, text);
      hi = parseValue(expression, bounds[1]!, def, text);
      if (lo > hi) throw new CronError(expression, `${def.name} range "${rangeText}" runs backwards`);
    } else {
      lo = parseValue(expression, rangeText, def, text);
      hi = stepText === undefined ? lo : def.max;
    }
    for (let v = lo; v <= hi; v += step) out.add(v);
  }
  return out;
}

function parseValue(expression: string, token: string, def: FieldDef, field: string): number {
  const upper = token.toUpperCase();
  if (def.names) {
    const idx = def.names.indexOf(upper);
    if (idx >= 0) return idx + (def.namesStart ?? 0);
  }
  if (!/^\d+$/.test(token)) {
    throw new CronError(expression, `${def.name} field "${field}" has an invalid value "${token}"`);
  }
  const n = Number(token);
  if (n < def.min || n > def.max) {
    throw new CronError(expression, `${def.name} value ${n} is out of range ${def.min}-${def.max}`);
  }
  return n;
}

interface WallClock {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  weekday: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** Checks that a time zone name is known to this runtime; throws CronError otherwise. */
export function checkTimeZone(timezone: string): void {
  try {
    formatterFor(timezone);
  } catch {
    const problem = `unknown time zone ${JSON.stringify(timezone)} (use an IANA name such as "Europe/Berlin" or "UTC")`;
    throw new CronError(timezone, problem, problem);
  }
}

function formatterFor(timezone: string): Intl.DateTimeFormat {
  let f = formatters.get(timezone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone: timezone,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      weekday: "short",
    });
    formatters.set(timezone, f);
  }
  return f;
}

function wallClock(ms: number, timezone: string | undefined): WallClock {
  if (!timezone || timezone === "UTC") {
    const d = new Date(ms);
    return {
      year: d.getUTCFullYear(),
      month: d.getUTCMonth() + 1,
      day: d.getUTCDate(),
      hour: d.getUTCHours(),
      minute: d.getUTCMinutes(),
      weekday: d.getUTCDay(),
    };
  }
  const parts: Record<string, string> = {};
  for (const p of formatterFor(timezone).formatToParts(new Date(ms))) parts[p.type] = p.value;
  return {
    year: Number(parts.year),
    month: Number(parts.month),
    day: Number(parts.day),
    hour: Number(parts.hour),
    minute: Number(parts.minute),
    weekday: DAY_NAMES.indexOf((parts.weekday ?? "").toUpperCase()),
  };
}

const MINUTE = 60_000;
/** Clock changes shift local time by at most this much. */
const MAX_DST_SHIFT_MINUTES = 180;
/** Upper bound on the search: a valid expression fires within 8 years (Feb 29 across a skipped leap year). */
const MAX_SEARCH_MS = 8 * 366 * 24 * 60 * MINUTE;

/** The first tick strictly after `after` (ms since epoch), or undefined if none within 8 years. */
export function nextCronTick(cron: CronExpression, after: number, timezone?: string): number | undefined {
  if (timezone !== undefined) checkTimeZone(timezone);
  let t = Math.floor(after / MINUTE) * MINUTE + MINUTE;
  const limit = after + MAX_SEARCH_MS;
  while (t <= limit) {
    const w = wallClock(t, timezone);
    const dayOk =
      cron.months.has(w.month) &&
      (cron.domRestricted && cron.dowRestricted
        ? cron.daysOfMonth.has(w.day) || cron.daysOfWeek.has(w.weekday)
        : cron.daysOfMonth.has(w.day) && cron.daysOfWeek.has(w.weekday));
    if (!dayOk) {
      // Jump towards the next local midnight, but stop short of it: on a day shortened
      // by a clock change, a full day's jump would land past midnight and skip a tick.
      const toMidnight = (24 - w.hour) * 60 - w.minute;
      t += (toMidnight > MAX_DST_SHIFT_MINUTES ? toMidnight - MAX_DST_SHIFT_MINUTES : 60 - w.minute) * MINUTE;
      continue;
    }
    if (!cron.hours.has(w.hour)) {
      t += (60 - w.minute) * MINUTE;
      continue;
    }
    if (!cron.minutes.has(w.minute)) {
      t += MINUTE;
      continue;
    }
    return t;
  }
  return undefined;
}
