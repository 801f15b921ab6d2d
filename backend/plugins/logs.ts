/**
 * Attempt log files: one per attempt under
 * `<logDir>/<project>/<domain>/<execution>/<node, URL-encoded>/<attempt>.log`,
 * written capped, read whole, as a tail, or followed while the attempt runs.
 */
import { closeSync, ftruncateSync, mkdirSync, openSync, writeSync } from "node:fs";
import { open, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import { CappedLog, type AttemptAssignment } from "../../kernel/runtime/index.js";

/** Followers look for new bytes this often. */
const FOLLOW_POLL_MS = 100;
/** Reads are done in chunks of this size. */
const READ_CHUNK_BYTES = 64 * 1024;

/** The log file of an attempt. */
export function logPath(logDir: string, assignment: Pick<AttemptAssignment, "execution" | "node" | "attempt">): string {
  const { project, domain, name } = assignment.execution;
  return join(logDir, project, domain, name, encodeURIComponent(assignment.node), `${assignment.attempt}.log`);
}

/**
 * A capped log file written by this process (warm attempts). The file is created
 * on the first write, so an attempt that prints nothing costs no file at all.
 */
export class AttemptLogWriter {
  private fd: number | undefined;
  private readonly cap: CappedLog;
  private closed = false;

  constructor(
    readonly path: string,
    maxBytes: number,
  ) {
    this.cap = new CappedLog(maxBytes);
  }

  /** Whether anything was written. */
  get created(): boolean {
    return this.fd !== undefined;
  }

  write(chunk: string | Uint8Array): void {
    if (this.closed) return;
    const kept = this.cap.admit(chunk);
    if (kept !== undefined) this.append(kept);
  }

  /** Writes the note of what the cap dropped (if anything) and closes the file. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const end = this.cap.finish();
    if (end) this.append(end);
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  private append(data: string | Uint8Array): void {
    if (this.fd === undefined) {
      mkdirSync(dirname(this.path), { recursive: true });
      this.fd = openSync(this.path, "a");
    }
    if (typeof data === "string") writeSync(this.fd, data);
    else writeSync(this.fd, data);
  }
}

/** Opens (creating) an attempt's log for appending, its directories included: the fd a runtime process writes to. */
export function openLogForAppend(path: string): number {
  mkdirSync(dirname(path), { recursive: true });
  return openSync(path, "a");
}

/**
 * Cuts a log that grew past `maxBytes + slackBytes` (bytes written around the
 * runtime's own cap, e.g. by native code or a subprocess) back to `maxBytes`, and
 * says so in the file. Writers append (O_APPEND), so they carry on at the new end.
 */
export async function enforceLogCap(path: string, maxBytes: number, slackBytes: number): Promise<boolean> {
  let size: number;
  try {
    size = (await stat(path)).size;
  } catch {
    return false;
  }
  if (size <= maxBytes + slackBytes) return false;
  const fd = openSync(path, "r+");
  try {
    ftruncateSync(fd, maxBytes);
  } finally {
    closeSync(fd);
  }
  const note = openSync(path, "a");
  try {
    writeSync(note, `\n[petrel] log cut at ${maxBytes} bytes: ${size - maxBytes} bytes dropped (written around the runtime's own cap)\n`);
  } finally {
    closeSync(note);
  }
  return true;
}

/** The last `bytes` of a file as text ("" when it does not exist). */
export async function readLogTail(path: string, bytes: number): Promise<string> {
  let handle;
  try {
    handle = await open(path, "r");
  } catch {
    return "";
  }
  try {
    const { size } = await handle.stat();
    const start = Math.max(0, size - bytes);
    const buf = Buffer.alloc(size - start);
    await handle.read(buf, 0, buf.length, start);
    return buf.toString("utf8");
  } finally {
    await handle.close();
  }
}

/** Options of {@link readLogFile}. */
export interface ReadLogOptions {
  tailBytes?: number;
  follow?: boolean;
  signal?: AbortSignal;
}

/**
 * The bytes of a log file: all, or the last `tailBytes`; with `follow`, then what
 * is appended while `running()` says the attempt runs, ending once it has ended and
 * the file is drained. A file that does not exist yet is waited for while following.
 */
export async function* readLogFile(path: string, options: ReadLogOptions, running: () => boolean): AsyncGenerator<Uint8Array> {
  const { follow = false, signal } = options;
  let handle = await openIfExists(path);
  while (!handle) {
    if (!follow || !running() || signal?.aborted) return;
    await sleep(FOLLOW_POLL_MS, signal);
    handle = await openIfExists(path);
  }
  try {
    let pos = 0;
    if (options.tailBytes !== undefined) pos = Math.max(0, (await handle.stat()).size - options.tailBytes);
    const buf = Buffer.alloc(READ_CHUNK_BYTES);
    for (;;) {
      // Decided before draining: bytes written before the attempt ended are all read.
      const live = follow && running();
      const { size } = await handle.stat();
      if (size < pos) pos = size; // cut by the cap: carry on from the new end
      while (pos < size) {
        const { bytesRead } = await handle.read(buf, 0, Math.min(buf.length, size - pos), pos);
        if (bytesRead === 0) break;
        pos += bytesRead;
        yield buf.subarray(0, bytesRead).slice();
      }
      if (!live || signal?.aborted) return;
      await sleep(FOLLOW_POLL_MS, signal);
    }
  } finally {
    await handle.close();
  }
}

async function openIfExists(path: string) {
  try {
    return await open(path, "r");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
}

/** Waits `ms`, or less when `signal` aborts (resolves either way). */
export function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}
