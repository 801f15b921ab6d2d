/**
 * A counting semaphore whose waiters are plain callbacks: ten thousand ready tasks
 * wait as ten thousand closures in an array, not as suspended async frames.
 */
export class Semaphore {
  // A queue with a moving head: Array#shift is O(n), which turns 10,000 waiters quadratic.
  private waiters: (() => void)[] = [];
  private head = 0;

  constructor(private available: number) {}

  /** Runs `fn` once a slot is taken for it (now, if one is free); `fn` must release it. */
  schedule(fn: () => void): void {
    if (this.available > 0) {
      this.available--;
      fn();
    } else {
      this.waiters.push(fn);
    }
  }

  /** Waits for a slot: undefined when one was free (no promise allocated). */
  acquire(): Promise<void> | undefined {
    if (this.available > 0) {
      this.available--;
      return undefined;
    }
    return new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  /** Returns a slot, handing it straight to the longest waiter. */
  release(): void {
    if (this.head < this.waiters.length) {
      const next = this.waiters[this.head++]!;
      if (this.head > 1024 && this.head * 2 > this.waiters.length) {
        this.waiters = this.waiters.slice(this.head);
        this.head = 0;
      }
      next();
    } else this.available++;
  }
}
