/**
 * A cell's output, in order: everything written to stdout and stderr (console.log,
 * console.error, process.stdout.write, ...) becomes `stream` messages, batched per
 * turn of the event loop so a loop printing 10,000 lines sends a handful of
 * messages, and flushed before any other output so the order is the one the code
 * produced. Output is attributed to the request running now, or, for timers that
 * fire later, to the last one (as ipykernel does).
 */
import type { KernelServer } from "./server.js";
import type { Content, Message } from "./wire.js";

/** The two streams a cell writes. */
export type StreamName = "stdout" | "stderr";

/** Larger writes are sent as several stream messages. */
const MAX_STREAM_MESSAGE_CHARS = 1_000_000;

type Write = typeof process.stdout.write;

/** Cell output for one kernel. */
export class OutputRouter {
  /** The request outputs belong to. */
  parent: Message | undefined;

  private readonly pending: Record<StreamName, string> = { stdout: "", stderr: "" };
  private readonly decoders = { stdout: new TextDecoder(), stderr: new TextDecoder() };
  private scheduled = false;
  private restore: (() => void) | undefined;

  constructor(private readonly server: Pick<KernelServer, "publish">) {}

  /** Captures `process.stdout` and `process.stderr` for cells (the kernel keeps its own handle on the real stderr for its log). */
  install(): void {
    if (this.restore) return;
    const original = { stdout: process.stdout.write, stderr: process.stderr.write };
    const capture = (name: StreamName): Write =>
      ((chunk: string | Uint8Array, encoding?: BufferEncoding | ((e?: Error | null) => void), callback?: (e?: Error | null) => void) => {
        const bytes = typeof chunk === "string" && typeof encoding === "string" && !/^utf-?8$/i.test(encoding);
        // A string with another encoding ("hex", "base64") stands for bytes, like a Uint8Array.
        const data = bytes ? Buffer.from(chunk as string, encoding) : chunk;
        this.write(name, typeof data === "string" ? data : this.decoders[name].decode(data, { stream: true }));
        const done = typeof encoding === "function" ? encoding : callback;
        if (done) queueMicrotask(() => done(null));
        return true;
      }) as Write;
    process.stdout.write = capture("stdout");
    process.stderr.write = capture("stderr");
    this.restore = () => {
      process.stdout.write = original.stdout;
      process.stderr.write = original.stderr;
    };
  }

  /** Gives the real streams back. */
  uninstall(): void {
    this.restore?.();
    this.restore = undefined;
  }

  /** Adds text to a stream; it is sent at the end of this turn of the event loop, or before the next other output. */
  write(name: StreamName, text: string): void {
    if (!text) return;
    this.pending[name] += text;
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.flush();
    });
  }

  /** Sends buffered stream text now; resolves once it is sent. */
  flush(): Promise<boolean> {
    const sends: Promise<boolean>[] = [];
    for (const name of ["stdout", "stderr"] as const) {
      const text = this.pending[name];
      if (!text) continue;
      this.pending[name] = "";
      for (let i = 0; i < text.length; i += MAX_STREAM_MESSAGE_CHARS) {
        sends.push(this.server.publish(this.parent, "stream", { name, text: text.slice(i, i + MAX_STREAM_MESSAGE_CHARS) }));
      }
    }
    return Promise.all(sends).then((sent) => sent.every(Boolean));
  }

  /** Publishes an output message after any buffered stream text. */
  publish(msgType: string, content: Content, metadata: Content = {}): Promise<boolean> {
    void this.flush();
    return this.server.publish(this.parent, msgType, content, metadata);
  }
}
