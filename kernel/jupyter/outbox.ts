/**
 * Every message the kernel sends goes through one ordered queue, each send awaited
 * before the next starts. ZeroMQ.js sockets refuse a send while one is pending, and
 * a kernel that fires sends without awaiting them loses output under load; one queue
 * for all sockets also keeps a cell's outputs ahead of its reply and its `idle`.
 *
 * A message queued while nothing is being sent goes to its socket at once, inside
 * `send()`: a cell's `busy` and `execute_input` are on the wire before its compile
 * starts, so the client reads them while the kernel works instead of after.
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
    const sent = this.pending++ === 0 ? this.start(socket, frames) : this.tail.then(() => this.start(socket, frames));
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

  private start(socket: Sendable, frames: Buffer[]): Promise<boolean> {
    let sending: Promise<void>;
    try {
      sending = socket.send(frames);
    } catch (error) {
      sending = Promise.reject(error);
    }
    return sending.then(
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
  }
}
