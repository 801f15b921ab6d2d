/**
 * Time as the backend sees it. Every timestamp the backend records comes from a
 * Clock, so tests (and users' own tests) can pin and advance time instead of
 * sleeping.
 */

/** A source of the current time in epoch milliseconds. */
export interface Clock {
  now(): number;
}

/** The wall clock. */
export const systemClock: Clock = { now: () => Date.now() };

/** A clock that moves only when told to. */
export interface ManualClock extends Clock {
  /** Moves the clock forward by `ms` and returns the new time. */
  advance(ms: number): number;
  /** Sets the clock to an absolute time (epoch ms or ISO string). */
  set(time: number | string): void;
}

/** Default start of a manual clock: a fixed, readable instant. */
export const DEFAULT_MANUAL_CLOCK_START = Date.UTC(2025, 0, 1);

/**
 * A manual clock. Each `now()` returns the current instant; nothing advances on
 * its own, so two records made in one test step carry the same timestamp.
 *
 * @example
 * ```ts
 * const clock = createManualClock("2025-01-01T00:00:00Z");
 * clock.advance(60_000);
 * new Date(clock.now()).toISOString(); // "2025-01-01T00:01:00.000Z"
 * ```
 */
export function createManualClock(start: number | string = DEFAULT_MANUAL_CLOCK_START): ManualClock {
  const toMs = (t: number | string) => {
    const ms = typeof t === "number" ? t : Date.parse(t);
    if (!Number.isFinite(ms)) throw new RangeError(`not a time: ${String(t)}`);
    return ms;
  };
  let current = toMs(start);
  return {
    now: () => current,
    advance(ms) {
      if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`a clock only moves forward, got ${ms} ms`);
      current += ms;
      return current;
    },
    set(time) {
      current = toMs(time);
    },
  };
}
