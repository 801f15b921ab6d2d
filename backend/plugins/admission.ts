/**
 * CPU admission control: attempts start in arrival order once there is room —
 * at most `maxAttempts` at once, and the CPU requests of those running summing to
 * at most `cpus`. An attempt without a CPU request counts only toward the number;
 * one requesting more than `cpus` runs alone rather than never.
 */

/** A queued or admitted attempt's claim. */
export interface Ticket {
  readonly cpu: number;
  /** Set once admitted. */
  admitted: boolean;
  /** Set once its room is given back. */
  released: boolean;
  readonly start: (ticket: Ticket) => void;
}

/** A FIFO admission queue. */
export class Admission {
  private running = 0;
  private cpuInUse = 0;
  private readonly queue: Ticket[] = [];

  constructor(
    readonly maxAttempts: number,
    readonly cpus: number,
  ) {}

  /** Attempts admitted and not yet released. */
  get active(): number {
    return this.running;
  }

  /** Attempts waiting. */
  get waiting(): number {
    return this.queue.length;
  }

  /** Queues an attempt; `start` runs when it is admitted — synchronously, when there is room now. */
  enter(cpu: number, start: (ticket: Ticket) => void): Ticket {
    const ticket: Ticket = { cpu, admitted: false, released: false, start };
    this.queue.push(ticket);
    this.pump();
    return ticket;
  }

  /** Admits an attempt that already runs (re-attached after a restart), room or not. */
  occupy(cpu: number): Ticket {
    const ticket: Ticket = { cpu, admitted: true, released: false, start: () => {} };
    this.running++;
    this.cpuInUse += cpu;
    return ticket;
  }

  /** Frees an admitted ticket's room, or takes a waiting one out of the queue. Idempotent. */
  release(ticket: Ticket): void {
    if (!ticket.admitted) {
      const i = this.queue.indexOf(ticket);
      if (i >= 0) this.queue.splice(i, 1);
      return;
    }
    if (ticket.released) return;
    ticket.released = true;
    this.running--;
    this.cpuInUse -= ticket.cpu;
    this.pump();
  }

  private pump(): void {
    while (this.queue.length > 0) {
      const next = this.queue[0]!;
      const fits = this.running === 0 || (this.running < this.maxAttempts && this.cpuInUse + next.cpu <= this.cpus + 1e-9);
      if (!fits) return;
      this.queue.shift();
      next.admitted = true;
      this.running++;
      this.cpuInUse += next.cpu;
      next.start(next);
    }
  }
}
