/**
 * Attempt logs with a size cap. A task printing 100 MB must not fill the disk, and
 * the end of a log (where the error usually is) matters more than its middle: a
 * capped log keeps the first `maxBytes`, then only a sliding tail window, and at
 * the end writes a note of what it dropped followed by that tail.
 */
import { writeSync } from "node:fs";

/** Stored per attempt unless configured otherwise. */
export const DEFAULT_LOG_MAX_BYTES = 10 * 1024 * 1024;
/** The tail kept past the cap, written after the note. */
export const DEFAULT_LOG_TAIL_BYTES = 64 * 1024;

/** Decides which bytes of a stream are kept: the head up to the cap, then a tail window. */
export class CappedLog {
  private written = 0;
  private dropped = 0;
  private tail: Uint8Array[] = [];
  private tailSize = 0;

  constructor(
    readonly maxBytes: number = DEFAULT_LOG_MAX_BYTES,
    readonly tailBytes: number = Math.min(DEFAULT_LOG_TAIL_BYTES, maxBytes),
  ) {}

  /** Bytes kept so far (head only). */
  get size(): number {
    return this.written;
  }

  /**
   * Takes a chunk and returns what to write now: the chunk itself while under the
   * cap, its head part when it crosses the cap, undefined past the cap (the bytes
   * then go to the tail window). A string is measured in UTF-8 and passed through
   * unchanged while it fits.
   */
  admit(chunk: string | Uint8Array): string | Uint8Array | undefined {
    const size = typeof chunk === "string" ? Buffer.byteLength(chunk) : chunk.byteLength;
    if (this.written + size <= this.maxBytes) {
      this.written += size;
      return chunk;
    }
    const bytes = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
    const room = this.maxBytes - this.written;
    this.written += room;
    this.keepTail(bytes.subarray(room));
    return room > 0 ? bytes.subarray(0, room) : undefined;
  }

  /** What ends the log: a note of the bytes dropped and the tail, or undefined when nothing was dropped. Resets the tail. */
  finish(): Uint8Array | undefined {
    if (this.dropped === 0 && this.tailSize === 0) return undefined;
    const note = Buffer.from(
      `\n[petrel] log capped at ${this.maxBytes} bytes: ${this.dropped} bytes dropped${this.tailSize > 0 ? `; the last ${this.tailSize} bytes follow` : ""}\n`,
    );
    const out = Buffer.concat([note, ...this.tail]);
    this.tail = [];
    this.tailSize = 0;
    return out;
  }

  private keepTail(bytes: Uint8Array): void {
    if (this.tailBytes === 0) {
      this.dropped += bytes.byteLength;
      return;
    }
    if (bytes.byteLength >= this.tailBytes) {
      this.dropped += this.tailSize + bytes.byteLength - this.tailBytes;
      this.tail = [bytes.slice(bytes.byteLength - this.tailBytes)];
      this.tailSize = this.tailBytes;
      return;
    }
    // Copied: a writer may reuse its buffer after write() returns.
    this.tail.push(bytes.slice());
    this.tailSize += bytes.byteLength;
    while (this.tailSize > this.tailBytes) {
      const first = this.tail[0]!;
      const over = this.tailSize - this.tailBytes;
      if (first.byteLength <= over) {
        this.tail.shift();
        this.tailSize -= first.byteLength;
        this.dropped += first.byteLength;
      } else {
        this.tail[0] = first.subarray(over);
        this.tailSize -= over;
        this.dropped += over;
      }
    }
  }
}

type WriteFn = (chunk: string | Uint8Array, encoding?: BufferEncoding | ((err?: Error | null) => void), cb?: (err?: Error | null) => void) => boolean;

/** Replaces a stream's `write` with `sink`; returns the original, bound. */
export function interceptWrites(stream: NodeJS.WriteStream, sink: (chunk: string | Uint8Array, original: WriteFn) => void): WriteFn {
  const original = stream.write.bind(stream) as WriteFn;
  const replacement: WriteFn = (chunk, encoding, cb) => {
    const callback = typeof encoding === "function" ? encoding : cb;
    const data = typeof chunk === "string" && typeof encoding === "string" && encoding !== "utf8" && encoding !== "utf-8" ? Buffer.from(chunk, encoding) : chunk;
    sink(data, original);
    if (callback) process.nextTick(callback);
    return true;
  };
  stream.write = replacement as NodeJS.WriteStream["write"];
  return original;
}

/**
 * Caps what this process writes through `process.stdout` and `process.stderr`
 * (console output included): both streams share one cap, as they share the
 * attempt's log file. `finish()` writes the note and the tail synchronously,
 * so it is safe right before `process.exit`.
 */
export function captureProcessOutput(maxBytes: number = DEFAULT_LOG_MAX_BYTES): { finish(): void } {
  const log = new CappedLog(maxBytes);
  const sink = (chunk: string | Uint8Array, original: WriteFn) => {
    const kept = log.admit(chunk);
    if (kept !== undefined) original(kept);
  };
  interceptWrites(process.stdout, sink);
  interceptWrites(process.stderr, sink);
  return {
    finish() {
      const end = log.finish();
      if (end) {
        try {
          writeSync(process.stdout.fd, end);
        } catch {
          // stdout is gone: nobody would read the note anyway.
        }
      }
    },
  };
}
