/**
 * The heartbeat: echoes every ping on the hb socket. It runs in a worker thread, so
 * a cell that keeps the main thread busy for minutes does not look like a dead
 * kernel to clients that watch the heartbeat (jupyter console).
 */
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import { Reply } from "zeromq";

/** A running heartbeat. */
export interface Heartbeat {
  /** Stops echoing and releases the socket (before the process exits: ZeroMQ aborts on exit with open sockets). */
  close(): Promise<void>;
}

const CLOSE = "close";
const BOUND = "bound";

/** Starts the heartbeat on `address` in a worker thread; falls back to this thread if workers fail. */
export async function startHeartbeat(address: string): Promise<Heartbeat> {
  try {
    return await startWorker(address);
  } catch {
    return startInThread(address);
  }
}

function startWorker(address: string): Promise<Heartbeat> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL(import.meta.url), { workerData: address });
    const exited = new Promise<void>((done) => worker.once("exit", () => done()));
    worker.once("error", reject);
    worker.once("message", (m) => {
      if (m !== BOUND) return reject(new Error(`heartbeat worker said ${String(m)}`));
      // Not unref()'d: ZeroMQ aborts the process when an unref'd worker holding a socket exits.
      resolve({
        close: async () => {
          worker.postMessage(CLOSE);
          await exited;
        },
      });
    });
  });
}

async function startInThread(address: string): Promise<Heartbeat> {
  const socket = await echo(address);
  return {
    close: () => {
      socket.close();
      return Promise.resolve();
    },
  };
}

async function echo(address: string): Promise<Reply> {
  const socket = new Reply({ linger: 0 });
  await socket.bind(address);
  void (async () => {
    try {
      for await (const frames of socket) await socket.send(frames);
    } catch {
      // Closed.
    }
  })();
  return socket;
}

// In the worker. No top-level await: this module must stay loadable with require().
if (!isMainThread && typeof workerData === "string" && parentPort) {
  const port = parentPort;
  void echo(workerData).then((socket) => {
    port.on("message", (m) => {
      if (m !== CLOSE) return;
      socket.close();
      port.close();
    });
    port.postMessage(BOUND);
  });
}
