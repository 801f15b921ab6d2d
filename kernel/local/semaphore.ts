/** A counting semaphore: the fast path takes a slot without allocating a promise. */
export class Semaphore {
  // A queue with a moving head: Array#shift is O(n), which turns 10,000 waiters quadratic.
  private waiters: (() => void)[] = [];
  private head = 0;
  constructor(private available: number) {}

  /** Takes a slot now if one is free. */
  tryAcquire(): boolean {
    if (this.available > 0) {
      this.available--;
      return true;
    }
    return false;
  }

  /** Waits for a slot. */
  acquire(): Promise<void> | undefined {
    if (this.tryAcquire()) return undefined;
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
