/** A token bucket: at most `rate` takes per second on average, bursts of up to `burst`. */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly rate: number,
    private readonly burst: number = Math.max(1, rate),
    private readonly now: () => number = () => performance.now(),
  ) {
    this.tokens = this.burst;
    this.last = this.now();
  }

  /** Takes a token and returns 0, or returns how many ms until one is there (taking nothing). */
  take(): number {
    const t = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((t - this.last) / 1000) * this.rate);
    this.last = t;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    return Math.ceil(((1 - this.tokens) / this.rate) * 1000);
  }
}

/** Exponential backoff with full jitter: attempt 0 waits up to `baseMs`, doubling up to `maxMs`. */
export function backoffMs(attempt: number, baseMs: number, maxMs: number): number {
  const cap = Math.min(maxMs, baseMs * 2 ** attempt);
  return Math.round(cap / 2 + (Math.random() * cap) / 2);
}
