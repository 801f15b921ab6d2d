/**
 * Every message the kernel sends goes through one ordered queue, each send awaited
 * before the next starts. ZeroMQ.js sockets refuse a send while one is pending, and
 * a kernel that fires sends without awaiting them loses output under load; one queue
 * for all sockets also keeps a cell's outputs ahead of its reply and its `idle`.
 */

/** What the outbox needs of a socket. */
export interface Sendable {
  send(frames: Buffer[]): Promise<void>;
}

/** The kernel's single ordered send queue. */
export class Outbox {
  private tail: Promise<void> = Promise.resolve();
  private pending = 0;

  constructor(private readonly onError: (error: unknown) => void) {}

  /**
   * Queues `frames` for `socket`; resolves once they are sent (true) or the socket
   * refused them (false, reported to `onError`): a closed socket must not crash the kernel.
   */
  send(socket: Sendable, frames: Buffer[]): Promise<boolean> {
    this.pending++;
    const sent = this.tail.then(
      () => socket.send(frames),
    ).then(
      () => {
        this.pending--;
        return true;
      },
      (error: unknown) => {
        this.pending--;
        this.onError(error);
        return false;
      },
    );
    this.tail = sent.then(() => undefined);
    return sent;
  }

  /** Resolves when everything queued so far has been sent (or has failed). */
  drained(): Promise<void> {
    return this.tail;
  }

  /** Messages queued and not yet sent. */
  get size(): number {
    return this.pending;
  }
}
