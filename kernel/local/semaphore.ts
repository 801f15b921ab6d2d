/** A counting semaphore: the fast path takes a slot without allocating a promise. */
export class Semaphore {
  private readonly waiters: (() => void)[] = [];
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
    const next = this.waiters.shift();
    if (next) next();
    else this.available++;
  }
}
