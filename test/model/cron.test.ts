// Cron parsing and next-tick computation: every field syntax, the errors a user
// sees for bad expressions, Vixie's day-field rule, and wall-clock ticks in time
// zones across DST changes, checked against a brute-force minute-by-minute scan.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CronError, checkTimeZone, isPetrelError, nextCronTick, parseCron, type CronExpression } from "../../kernel/model/index.js";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

const range = (lo: number, hi: number, step = 1): number[] => {
  const out: number[] = [];
  for (let v = lo; v <= hi; v += step) out.push(v);
  return out;
};
const sorted = (set: ReadonlySet<number>): number[] => [...set].sort((a, b) => a - b);
const iso = (ms: number | undefined): string | undefined => (ms === undefined ? undefined : new Date(ms).toISOString());

/** The next `n` ticks after `from`, as ISO strings. */
function ticks(expression: string, from: string, n: number, timezone?: string): (string | undefined)[] {
  const cron = parseCron(expression);
  const out: (string | undefined)[] = [];
  let t: number | undefined = Date.parse(from);
  for (let i = 0; i < n && t !== undefined; i++) {
    t = nextCronTick(cron, t, timezone);
    out.push(iso(t));
  }
  return out;
}

describe("parseCron: field syntax", () => {
  it("* is every value of a field; day-of-week folds 7 into 0", () => {
    const c = parseCron("* * * * *");
    expect(sorted(c.minutes)).toEqual(range(0, 59));
    expect(sorted(c.hours)).toEqual(range(0, 23));
    expect(sorted(c.daysOfMonth)).toEqual(range(1, 31));
    expect(sorted(c.months)).toEqual(range(1, 12));
    expect(sorted(c.daysOfWeek)).toEqual(range(0, 6));
    expect(c.domRestricted).toBe(false);
    expect(c.dowRestricted).toBe(false);
  });

  it("single values, lists and ranges", () => {
    const c = parseCron("0,15,30,45 9-17 1,15 6 1-5");
    expect(sorted(c.minutes)).toEqual([0, 15, 30, 45]);
    expect(sorted(c.hours)).toEqual(range(9, 17));
    expect(sorted(c.daysOfMonth)).toEqual([1, 15]);
    expect(sorted(c.months)).toEqual([6]);
    expect(sorted(c.daysOfWeek)).toEqual([1, 2, 3, 4, 5]);
    expect(c.domRestricted).toBe(true);
    expect(c.dowRestricted).toBe(true);
  });

  it("steps over *, over a range, and from a start value to the field's end", () => {
    expect(sorted(parseCron("*/15 * * * *").minutes)).toEqual([0, 15, 30, 45]);
    expect(sorted(parseCron("10-20/5 * * * *").minutes)).toEqual([10, 15, 20]);
    expect(sorted(parseCron("5/20 * * * *").minutes)).toEqual([5, 25, 45]);
    expect(sorted(parseCron("0 */7 * * *").hours)).toEqual([0, 7, 14, 21]);
    expect(sorted(parseCron("0 0 */10 * *").daysOfMonth)).toEqual([1, 11, 21, 31]);
    expect(sorted(parseCron("0 0 * */3 *").months)).toEqual([1, 4, 7, 10]);
    expect(sorted(parseCron("0 0 * * */2").daysOfWeek)).toEqual([0, 2, 4, 6]);
    expect(sorted(parseCron("*/61 * * * *").minutes)).toEqual([0]);
  });

  it("mixes lists of values, ranges and steps in one field", () => {
    expect(sorted(parseCron("1,10-12,*/20,59 * * * *").minutes)).toEqual([0, 1, 10, 11, 12, 20, 40, 59]);
  });

  it("month and weekday names in any case, alone, in lists and in ranges", () => {
    expect(sorted(parseCron("0 0 1 JAN,mar-May *").months)).toEqual([1, 3, 4, 5]);
    expect(sorted(parseCron("0 0 1 dec *").months)).toEqual([12]);
    expect(sorted(parseCron("0 0 * * MON-FRI").daysOfWeek)).toEqual([1, 2, 3, 4, 5]);
    expect(sorted(parseCron("0 0 * * sun,Sat").daysOfWeek)).toEqual([0, 6]);
    expect(sorted(parseCron("0 0 * * TUE/2").daysOfWeek)).toEqual([2, 4, 6]);
  });

  it("7 is Sunday, alone and at the end of a range", () => {
    expect(sorted(parseCron("0 0 * * 7").daysOfWeek)).toEqual([0]);
    expect(sorted(parseCron("0 0 * * 5-7").daysOfWeek)).toEqual([0, 5, 6]);
    expect(sorted(parseCron("0 0 * * 0,7").daysOfWeek)).toEqual([0]);
    expect(parseCron("0 0 * * 7").dowRestricted).toBe(true);
  });

  it("? means any in the day fields and leaves them unrestricted", () => {
    const c = parseCron("0 12 ? * MON");
    expect(sorted(c.daysOfMonth)).toEqual(range(1, 31));
    expect(c.domRestricted).toBe(false);
    expect(c.dowRestricted).toBe(true);
  });

  it("aliases expand to their five-field forms, in any case, ignoring surrounding space", () => {
    const same = (a: CronExpression, b: CronExpression) => {
      for (const k of ["minutes", "hours", "daysOfMonth", "months", "daysOfWeek"] as const) expect(sorted(a[k])).toEqual(sorted(b[k]));
      expect([a.domRestricted, a.dowRestricted]).toEqual([b.domRestricted, b.dowRestricted]);
    };
    same(parseCron("@yearly"), parseCron("0 0 1 1 *"));
    same(parseCron("@annually"), parseCron("0 0 1 1 *"));
    same(parseCron("@monthly"), parseCron("0 0 1 * *"));
    same(parseCron("@weekly"), parseCron("0 0 * * 0"));
    same(parseCron("@daily"), parseCron("0 0 * * *"));
    same(parseCron("@midnight"), parseCron("0 0 * * *"));
    same(parseCron("@hourly"), parseCron("0 * * * *"));
    same(parseCron("  @DAILY "), parseCron("0 0 * * *"));
    expect(parseCron("  @DAILY ").source).toBe("@DAILY");
  });

  it("tolerates runs of spaces and tabs between fields", () => {
    expect(sorted(parseCron(" 5\t4  * *   * ").minutes)).toEqual([5]);
  });
});

describe("parseCron: errors name the field and the value", () => {
  it.each([
    ["61 * * * *", /minute value 61 is out of range 0-59/],
    ["0 24 * * *", /hour value 24 is out of range 0-23/],
    ["0 0 0 * *", /day-of-month value 0 is out of range 1-31/],
    ["0 0 32 * *", /day-of-month value 32 is out of range 1-31/],
    ["0 0 1 13 *", /month value 13 is out of range 1-12/],
    ["0 0 1 0 *", /month value 0 is out of range 1-12/],
    ["0 0 * * 8", /day-of-week value 8 is out of range 0-7/],
    ["0-60 * * * *", /minute value 60 is out of range 0-59/],
  ])("%s is out of range", (expression, message) => {
    expect(() => parseCron(expression)).toThrow(message);
  });

  it("the wrong number of fields, with the count", () => {
    expect(() => parseCron("* * * *")).toThrow(/expected 5 fields \(minute hour day-of-month month day-of-week\), got 4/);
    expect(() => parseCron("0 * * * * *")).toThrow(/expected 5 fields .*got 6/);
    expect(() => parseCron("")).toThrow(/got 0/);
    expect(() => parseCron("   ")).toThrow(/got 0/);
  });

  it("a bad step", () => {
    expect(() => parseCron("*/0 * * * *")).toThrow(/minute field "\*\/0" has an invalid step "0"/);
    expect(() => parseCron("0 */x * * *")).toThrow(/hour field "\*\/x" has an invalid step "x"/);
    expect(() => parseCron("0 0 */ * *")).toThrow(/day-of-month field "\*\/" has an invalid step ""/);
    expect(() => parseCron("0 0 * */-1 *")).toThrow(/month field "\*\/-1" has an invalid step "-1"/);
    expect(() => parseCron("1/2/3 * * * *")).toThrow(/minute field "1\/2\/3" has more than one "\/"/);
  });

  it("a range that runs backwards", () => {
    expect(() => parseCron("0 5-1 * * *")).toThrow(/hour range "5-1" runs backwards/);
    expect(() => parseCron("0 0 * * FRI-MON")).toThrow(/day-of-week range "FRI-MON" runs backwards/);
  });

  it("a value that is not a number or a name of its field", () => {
    expect(() => parseCron("0 0 * JANUARY *")).toThrow(/month field "JANUARY" has an invalid value "JANUARY"/);
    expect(() => parseCron("MON * * * *")).toThrow(/minute field "MON" has an invalid value "MON"/);
    expect(() => parseCron("0 0 * * JAN")).toThrow(/day-of-week field "JAN" has an invalid value "JAN"/);
    expect(() => parseCron("0 0 L * *")).toThrow(/day-of-month field "L" has an invalid value "L"/);
    expect(() => parseCron("1,,2 * * * *")).toThrow(/minute field "1,,2" has an invalid value ""/);
    expect(() => parseCron("-1 * * * *")).toThrow(/minute field "-1" has an invalid value ""/);
    expect(() => parseCron("1.5 * * * *")).toThrow(/minute field "1.5" has an invalid value "1.5"/);
  });

  it("a range with more than two bounds", () => {
    // "1-2-3" is not a range; reading it as 1-2 would silently drop the "-3".
    expect(() => parseCron("1-2-3 * * * *")).toThrow(/minute (field|range) "1-2-3"/);
  });

  it("an unknown alias, listing the known ones", () => {
    expect(() => parseCron("@fortnightly")).toThrow(/unknown alias @fortnightly \(known: @yearly, .*@hourly\)/);
    expect(() => parseCron("@reboot")).toThrow(/unknown alias @reboot/);
  });

  it("throws a CronError with a stable code and the expression in its details", () => {
    let caught: unknown;
    try {
      parseCron("61 * * * *");
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(CronError);
    expect(isPetrelError(caught)).toBe(true);
    expect(caught).toMatchObject({
      name: "CronError",
      code: "INVALID_CRON",
      message: 'invalid cron expression "61 * * * *": minute value 61 is out of range 0-59',
      details: { expression: "61 * * * *", problem: "minute value 61 is out of range 0-59" },
    });
  });
});

describe("checkTimeZone", () => {
  it("accepts IANA zones known to the runtime", () => {
    for (const tz of ["UTC", "Etc/UTC", "America/New_York", "Europe/Berlin", "Asia/Kolkata", "Australia/Lord_Howe"]) {
      expect(() => checkTimeZone(tz)).not.toThrow();
    }
  });

  it("rejects an unknown zone with a CronError naming it", () => {
    expect(() => checkTimeZone("Mars/Olympus")).toThrow(CronError);
    expect(() => checkTimeZone("Mars/Olympus")).toThrow(/unknown time zone "Mars\/Olympus"/);
    expect(() => checkTimeZone("")).toThrow(CronError);
  });
});

describe("nextCronTick in UTC", () => {
  it("returns the next matching minute strictly after the given instant", () => {
    expect(ticks("*/15 * * * *", "2024-05-01T10:07:30.500Z", 3)).toEqual([
      "2024-05-01T10:15:00.000Z",
      "2024-05-01T10:30:00.000Z",
      "2024-05-01T10:45:00.000Z",
    ]);
    expect(ticks("*/15 * * * *", "2024-05-01T10:15:00.000Z", 1)).toEqual(["2024-05-01T10:30:00.000Z"]);
    expect(ticks("* * * * *", "2024-05-01T10:15:59.999Z", 1)).toEqual(["2024-05-01T10:16:00.000Z"]);
  });

  it("treats an absent zone and UTC alike", () => {
    const cron = parseCron("17 3 * * *");
    const t = Date.parse("2024-05-01T12:00:00Z");
    expect(nextCronTick(cron, t)).toBe(nextCronTick(cron, t, "UTC"));
    expect(nextCronTick(cron, t)).toBe(nextCronTick(cron, t, "Etc/UTC"));
  });

  it("rolls over hours, days, months and years", () => {
    expect(ticks("@hourly", "2024-05-01T10:00:00.001Z", 1)).toEqual(["2024-05-01T11:00:00.000Z"]);
    expect(ticks("0 0 * * *", "2024-12-31T23:59:00Z", 1)).toEqual(["2025-01-01T00:00:00.000Z"]);
    expect(ticks("@yearly", "2024-06-15T00:00:00Z", 2)).toEqual(["2025-01-01T00:00:00.000Z", "2026-01-01T00:00:00.000Z"]);
    expect(ticks("0 9 * * MON-FRI", "2024-05-03T10:00:00Z", 2)).toEqual(["2024-05-06T09:00:00.000Z", "2024-05-07T09:00:00.000Z"]);
  });

  it("skips months without the day", () => {
    expect(ticks("0 0 31 * *", "2024-01-31T00:00:00Z", 3)).toEqual([
      "2024-03-31T00:00:00.000Z",
      "2024-05-31T00:00:00.000Z",
      "2024-07-31T00:00:00.000Z",
    ]);
  });

  it("fires on Feb 29 only in leap years", () => {
    expect(ticks("0 0 29 2 *", "2025-03-01T00:00:00Z", 2)).toEqual(["2028-02-29T00:00:00.000Z", "2032-02-29T00:00:00.000Z"]);
    expect(ticks("0 0 29 2 *", "2024-02-29T00:00:00Z", 1)).toEqual(["2028-02-29T00:00:00.000Z"]);
    expect(ticks("0 0 29 FEB *", "2023-01-01T00:00:00Z", 1)).toEqual(["2024-02-29T00:00:00.000Z"]);
  });

  it("returns undefined for an expression that never fires", () => {
    expect(nextCronTick(parseCron("0 0 30 2 *"), Date.parse("2024-01-01T00:00:00Z"))).toBeUndefined();
    expect(nextCronTick(parseCron("0 0 31 4,6,9,11 *"), Date.parse("2024-01-01T00:00:00Z"))).toBeUndefined();
  });
});

describe("Vixie day-of-month / day-of-week rule", () => {
  const january2024 = (expression: string) =>
    ticks(expression, "2023-12-31T23:59:00Z", 40)
      .filter((t): t is string => t !== undefined && t < "2024-02-01")
      .map((t) => Number(t.slice(8, 10)));

  it("with both day fields restricted, a day matching either fires", () => {
    // January 2024: Fridays are the 5th, 12th, 19th and 26th.
    expect(january2024("0 0 13 * FRI")).toEqual([5, 12, 13, 19, 26]);
    expect(january2024("0 0 1,2 * 5")).toEqual([1, 2, 5, 12, 19, 26]);
  });

  it("with one day field *, the other alone decides", () => {
    expect(january2024("0 0 13 * *")).toEqual([13]);
    expect(january2024("0 0 * * FRI")).toEqual([5, 12, 19, 26]);
    expect(january2024("0 0 ? * FRI")).toEqual([5, 12, 19, 26]);
  });

  it("a day field that starts with * counts as unrestricted, as in Vixie cron", () => {
    // Vixie's entry.c sets DOM_STAR when the field's first character is '*', so
    // "*/2" with a weekday means odd days that are also Mondays (AND), not the union.
    // January 2024: Mondays are the 1st, 8th, 15th, 22nd and 29th.
    expect(january2024("0 0 */2 * MON")).toEqual([1, 15, 29]);
  });
});

describe("nextCronTick in time zones with DST", () => {
  // America/New_York 2025: EST (UTC-5) until Mar 9 02:00 -> 03:00 EDT (UTC-4); back on Nov 2 02:00 -> 01:00.
  const NY = "America/New_York";
  // Europe/Berlin 2025: CET (UTC+1) until Mar 30 02:00 -> 03:00 CEST (UTC+2); back on Oct 26 03:00 -> 02:00.
  const BERLIN = "Europe/Berlin";

  it("keeps local noon across the March change in New York", () => {
    expect(ticks("0 12 * * *", "2025-03-08T00:00:00Z", 3, NY)).toEqual([
      "2025-03-08T17:00:00.000Z",
      "2025-03-09T16:00:00.000Z",
      "2025-03-10T16:00:00.000Z",
    ]);
  });

  it("keeps local noon across the November change in New York", () => {
    expect(ticks("0 12 * * *", "2025-11-01T00:00:00Z", 3, NY)).toEqual([
      "2025-11-01T16:00:00.000Z",
      "2025-11-02T17:00:00.000Z",
      "2025-11-03T17:00:00.000Z",
    ]);
  });

  it("skips a wall-clock time that does not exist on the spring-forward day", () => {
    // 02:30 never happens on Mar 9 in New York: the tick is matched in wall-clock time, so that day has none.
    expect(ticks("30 2 * * *", "2025-03-08T12:00:00Z", 2, NY)).toEqual(["2025-03-10T06:30:00.000Z", "2025-03-11T06:30:00.000Z"]);
  });

  it("fires at both 01:30s of the fall-back day, since both are 01:30 on the wall clock", () => {
    expect(ticks("30 1 * * *", "2025-11-01T12:00:00Z", 3, NY)).toEqual([
      "2025-11-02T05:30:00.000Z",
      "2025-11-02T06:30:00.000Z",
      "2025-11-03T06:30:00.000Z",
    ]);
  });

  it("runs every hour of the short and the long day exactly once per wall-clock hour", () => {
    const spring = ticks("0 * * * *", "2025-03-09T04:59:00Z", 4, NY); // from 23:59 EST on Mar 8
    expect(spring).toEqual(["2025-03-09T05:00:00.000Z", "2025-03-09T06:00:00.000Z", "2025-03-09T07:00:00.000Z", "2025-03-09T08:00:00.000Z"]);
    const fall = ticks("0 * * * *", "2025-11-02T04:30:00Z", 4, NY); // from 00:30 EDT on Nov 2
    expect(fall).toEqual(["2025-11-02T05:00:00.000Z", "2025-11-02T06:00:00.000Z", "2025-11-02T07:00:00.000Z", "2025-11-02T08:00:00.000Z"]);
  });

  it("finds a midnight tick on the day after the spring-forward day (New York)", () => {
    // Sunday Mar 9 has only 23 hours; Monday 00:00 EDT is 04:00Z. A jump of 24 hours
    // from Sunday's midnight lands on Monday 01:00 and would miss it.
    expect(ticks("0 0 * * MON", "2025-03-08T17:00:00Z", 1, NY)).toEqual(["2025-03-10T04:00:00.000Z"]);
    expect(ticks("30 0 10 3 *", "2025-03-08T17:00:00Z", 1, NY)).toEqual(["2025-03-10T04:30:00.000Z"]);
  });

  it("finds a midnight tick on the day after the spring-forward day (Berlin)", () => {
    // Monday Mar 31 00:30 CEST is Mar 30 22:30Z.
    expect(ticks("30 0 * * MON", "2025-03-29T12:00:00Z", 1, BERLIN)).toEqual(["2025-03-30T22:30:00.000Z"]);
  });

  it("keeps local times across both Berlin changes", () => {
    expect(ticks("0 9 * * *", "2025-03-29T00:00:00Z", 2, BERLIN)).toEqual(["2025-03-29T08:00:00.000Z", "2025-03-30T07:00:00.000Z"]);
    expect(ticks("0 9 * * *", "2025-10-25T00:00:00Z", 2, BERLIN)).toEqual(["2025-10-25T07:00:00.000Z", "2025-10-26T08:00:00.000Z"]);
    // 02:30 is skipped in March and happens twice in October.
    expect(ticks("30 2 * * *", "2025-03-29T12:00:00Z", 1, BERLIN)).toEqual(["2025-03-31T00:30:00.000Z"]);
    expect(ticks("30 2 * * *", "2025-10-25T12:00:00Z", 3, BERLIN)).toEqual([
      "2025-10-26T00:30:00.000Z",
      "2025-10-26T01:30:00.000Z",
      "2025-10-27T01:30:00.000Z",
    ]);
  });

  it("uses wall-clock minutes in zones with half-hour offsets", () => {
    expect(ticks("0 9 * * *", "2025-01-01T00:00:00Z", 1, "Asia/Kolkata")).toEqual(["2025-01-01T03:30:00.000Z"]);
    expect(ticks("0 * * * *", "2025-01-01T00:00:00Z", 2, "Asia/Kolkata")).toEqual(["2025-01-01T00:30:00.000Z", "2025-01-01T01:30:00.000Z"]);
  });

  it("matches weekdays and month days in local time, not UTC", () => {
    // 2025-01-03 is a Friday; 20:00 in New York that day is already Saturday in UTC.
    expect(ticks("0 20 * * FRI", "2025-01-01T00:00:00Z", 1, NY)).toEqual(["2025-01-04T01:00:00.000Z"]);
    expect(ticks("0 0 1 * *", "2025-01-15T00:00:00Z", 1, "Asia/Tokyo")).toEqual(["2025-01-31T15:00:00.000Z"]);
  });
});

// ---- properties ----------------------------------------------------------------

/** The wall clock of an instant in a zone, computed independently of cron.ts. */
const wallFormatters = new Map<string, Intl.DateTimeFormat>();
function wall(ms: number, timezone: string): { month: number; day: number; hour: number; minute: number; weekday: number } {
  if (timezone === "UTC") {
    const d = new Date(ms);
    return { month: d.getUTCMonth() + 1, day: d.getUTCDate(), hour: d.getUTCHours(), minute: d.getUTCMinutes(), weekday: d.getUTCDay() };
  }
  let f = wallFormatters.get(timezone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-GB", {
      timeZone: timezone,
      hourCycle: "h23",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      weekday: "short",
    });
    wallFormatters.set(timezone, f);
  }
  const p = Object.fromEntries(f.formatToParts(new Date(ms)).map((x) => [x.type, x.value]));
  return {
    month: Number(p.month),
    day: Number(p.day),
    hour: Number(p.hour),
    minute: Number(p.minute),
    weekday: ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"].indexOf(p.weekday ?? ""),
  };
}

/** Whether the minute starting at `ms` matches the cron's fields on the zone's wall clock (Vixie day rule). */
function matches(cron: CronExpression, ms: number, timezone: string): boolean {
  const w = wall(ms, timezone);
  const dom = cron.daysOfMonth.has(w.day);
  const dow = cron.daysOfWeek.has(w.weekday);
  const day = cron.domRestricted && cron.dowRestricted ? dom || dow : dom && dow;
  return cron.minutes.has(w.minute) && cron.hours.has(w.hour) && cron.months.has(w.month) && day;
}

/**
 * The tick is after t, on a minute boundary, matches, and no minute between t and
 * it (scanned one by one, up to `windowMs`) matches.
 */
function checkTick(expression: string, t: number, timezone: string, windowMs: number): void {
  const cron = parseCron(expression);
  const next = nextCronTick(cron, t, timezone === "UTC" ? undefined : timezone);
  const first = Math.floor(t / MINUTE) * MINUTE + MINUTE;
  const end = Math.min(next ?? Infinity, first + windowMs);
  for (let m = first; m < end; m += MINUTE) {
    if (matches(cron, m, timezone)) {
      throw new Error(`${expression} in ${timezone} after ${iso(t)}: ${iso(m)} matches, but the tick was ${iso(next)}`);
    }
  }
  if (next === undefined) return;
  expect(next).toBeGreaterThan(t);
  expect(next % MINUTE).toBe(0);
  expect(matches(cron, next, timezone), `${expression} in ${timezone}: ${iso(next)} does not match`).toBe(true);
}

const item = (min: number, max: number, names: readonly string[] = []) => {
  const value = fc.oneof(
    fc.integer({ min, max }).map(String),
    ...(names.length ? [fc.constantFrom(...names)] : []),
  );
  const bounds = fc.tuple(fc.integer({ min, max }), fc.integer({ min, max })).map(([a, b]) => `${Math.min(a, b)}-${Math.max(a, b)}`);
  const step = fc.integer({ min: 1, max: max - min + 1 });
  return fc.oneof(
    { weight: 3, arbitrary: fc.constant("*") },
    { weight: 2, arbitrary: step.map((s) => `*/${s}`) },
    { weight: 3, arbitrary: value },
    { weight: 2, arbitrary: bounds },
    { weight: 1, arbitrary: fc.tuple(bounds, step).map(([b, s]) => `${b}/${s}`) },
    { weight: 1, arbitrary: fc.tuple(fc.integer({ min, max }), step).map(([v, s]) => `${v}/${s}`) },
  );
};
const field = (min: number, max: number, names: readonly string[] = []) =>
  fc.array(item(min, max, names), { minLength: 1, maxLength: 3 }).map((xs) => xs.join(","));
const MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
const DAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

describe("nextCronTick properties", () => {
  it("in UTC: after t, on a minute, matching, and no earlier matching minute (40-day scan)", () => {
    const expression = fc
      .tuple(field(0, 59), field(0, 23), field(1, 31), field(1, 12, MONTHS), field(0, 7, DAYS))
      .map((parts) => parts.join(" "));
    const instant = fc.integer({ min: Date.UTC(2000, 0, 1), max: Date.UTC(2040, 0, 1) });
    fc.assert(
      fc.property(expression, instant, (e, t) => checkTick(e, t, "UTC", 40 * DAY)),
      { numRuns: 150 },
    );
  });

  it("in DST zones around the changes: the same, in wall-clock time (15-day scan)", () => {
    // Frequent expressions (every day, or some weekdays) so that a 15-day scan covers the answer.
    const expression = fc
      .tuple(
        field(0, 59),
        // Early hours often: the hours next to a change, and just after a short day's midnight.
        fc.oneof(field(0, 23), fc.constantFrom("0", "0-2", "1", "2", "3", "0,12")),
        fc.constantFrom("*", "?"),
        fc.constant("*"),
        fc.constantFrom("*", "MON", "SUN", "MON-FRI", "SAT,SUN", "0,3", "7"),
      )
      .map((parts) => parts.join(" "));
    const changes: [string, string][] = [
      ["America/New_York", "2025-03-09T07:00:00Z"], // springs forward an hour on a Sunday
      ["America/New_York", "2025-11-02T06:00:00Z"], // falls back an hour
      ["Europe/Berlin", "2025-03-30T01:00:00Z"],
      ["Europe/Berlin", "2025-10-26T01:00:00Z"],
      ["Australia/Lord_Howe", "2025-04-05T15:00:00Z"], // falls back 30 minutes
      ["Australia/Lord_Howe", "2025-10-04T15:30:00Z"], // springs forward 30 minutes
    ];
    const zoned = fc
      .tuple(fc.constantFrom(...changes), fc.integer({ min: -3 * DAY, max: 2 * DAY }))
      .map(([[tz, change], offset]) => ({ tz, t: Date.parse(change) + offset }));
    fc.assert(
      fc.property(expression, zoned, (e, { tz, t }) => checkTick(e, t, tz, 15 * DAY)),
      { numRuns: 150 },
    );
  });
});
