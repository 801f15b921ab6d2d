/**
 * Starts the Petrel kernel on a connection file. The protocol server answers
 * `kernel_info` at once; the session (TypeScript, tslab, Petrel) loads right after,
 * and requests that need it wait for it.
 */
import type { MagicExtension } from "./magics.js";
import type { Session } from "./session.js";
import type { KernelServer, Request, RequestHandler } from "./server.js";
import { watchSigint } from "./sigint.js";
import { PACKAGE_ROOT, VERSIONS } from "./versions.js";
import { PROTOCOL_VERSION, readConnectionFile, type Content } from "./wire.js";

/** Options of `startKernel()`. */
export interface KernelOptions {
  connectionFile: string;
  /** The notebook's folder (default: the working directory, where Jupyter starts kernels). */
  cwd?: string;
  /** The kernel's own diagnostics (default: the process's stderr, which Jupyter logs). */
  log?: (message: string) => void;
  /** Loads `%petrel` subcommands that libraries add (called once, when the session loads). */
  magics?: () => Promise<readonly MagicExtension[]>;
}

/** A running kernel. */
export interface RunningKernel {
  readonly server: KernelServer;
  /** Resolves with `restart` once a client asked the kernel to shut down and its sockets are closed. */
  readonly stopped: Promise<boolean>;
}

/**
 * The session starts loading this long after the last kernel_info request: loading
 * keeps the process busy for a while, and a client that is still making sure its
 * IOPub socket is connected (it asks again if no status arrives within 0.2 s) must
 * not wait for it.
 */
const WARM_UP_DELAY_MS = 300;
/** If no client asks for kernel_info, the session loads anyway after this long. */
const WARM_UP_FALLBACK_MS = 500;
/** Requests that need the session, answered by it. */
const SESSION_REQUESTS = ["execute_request", "complete_request", "inspect_request", "is_complete_request", "history_request"];

/** The kernel_info_reply content. */
export function kernelInfo(): Content {
  return {
    status: "ok",
    protocol_version: PROTOCOL_VERSION,
    implementation: "petrel",
    implementation_version: VERSIONS.petrel,
    language_info: {
      name: "typescript",
      version: VERSIONS.typescript,
      mimetype: "text/typescript",
      file_extension: ".ts",
      pygments_lexer: "typescript",
      // JupyterLab reads `mode`; the classic notebook reads `name` and `typescript`.
      codemirror_mode: { mode: "typescript", name: "javascript", typescript: true },
      nbconvert_exporter: "script",
    },
    banner: `Petrel ${VERSIONS.petrel}: TypeScript ${VERSIONS.typescript} (tslab ${VERSIONS.tslab}) on Node.js ${VERSIONS.node}`,
    help_links: [
      { text: `Node.js ${VERSIONS.node} API`, url: `https://nodejs.org/docs/v${VERSIONS.node}/api/` },
      { text: "TypeScript handbook", url: "https://www.typescriptlang.org/docs/handbook/intro.html" },
    ],
    debugger: false,
  };
}

/** Starts a kernel: binds its sockets and answers requests until a shutdown request. */
export async function startKernel(options: KernelOptions): Promise<RunningKernel> {
  // Bound now: the session captures process.stderr for cells, and the kernel's own logs must not reach notebooks.
  const stderr = process.stderr.write.bind(process.stderr);
  const log = options.log ?? ((message: string) => void stderr(`[petrel kernel] ${message}\n`));
  const cwd = options.cwd ?? process.cwd();
  const connection = readConnectionFile(options.connectionFile);
  let session: Promise<Session> | undefined;
  let loaded: Session | undefined;
  /** Aborted by the first request that needs the session: it stops the compiler's warm-up. */
  const wanted = new AbortController();
  const loadSession = (): Promise<Session> =>
    (session ??= Promise.all([import("./session.js"), options.magics?.() ?? []]).then(async ([{ Session }, magics]) => {
      const created = new Session({ server, cwd, magics });
      await created.prepare(wanted.signal);
      loaded = created;
      return created;
    }));
  let warmUpTimer: NodeJS.Timeout | undefined;
  const warmUp = (delay: number) => {
    clearTimeout(warmUpTimer);
    warmUpTimer = setTimeout(() => void loadSession().catch((e: unknown) => log(`cannot start the session: ${String(e)}`)), delay).unref();
  };

  const handlers: Record<string, RequestHandler> = {
    kernel_info_request: () => {
      warmUp(WARM_UP_DELAY_MS);
      return kernelInfo();
    },
    comm_info_request: () => ({ status: "ok", comms: {} }),
    // No comm targets exist: close what a client opens, as the spec asks.
    comm_open: async (r: Request) => {
      await server.publish(r, "comm_close", { comm_id: r.content.comm_id, data: {} });
      return undefined;
    },
    comm_msg: () => undefined,
    comm_close: () => undefined,
    // Nothing runs before the session exists, so there is nothing to interrupt.
    interrupt_request: async () => {
      if (loaded) loaded.interrupt();
      return { status: "ok" };
    },
  };
  for (const type of SESSION_REQUESTS) {
    handlers[type] = async (r: Request) => {
      // Once: abort() builds a DOMException (with its stack) on every call.
      if (!wanted.signal.aborted) wanted.abort();
      return (await loadSession()).handlers[type]!(r);
    };
  }
  // Jupyter interrupts kernels with SIGINT (interrupt_mode "signal"): synchronous code
  // is stopped by V8 (tslab runs cells with breakOnSigint), awaits by the session.
  const sigint = watchSigint(() => loaded?.interrupt());
  const execute = handlers.execute_request!;
  handlers.execute_request = async (r: Request) => {
    const idle = sigint.busy();
    try {
      return await execute(r);
    } finally {
      idle();
    }
  };

  // Loaded here, not at the top: importing petrel/jupyter (for display) must not load zeromq.
  const { KernelServer } = await import("./server.js");
  const server: KernelServer = await KernelServer.start({ connection, handlers, log, onShutdown: () => loaded?.close() }).catch((error: unknown) => {
    sigint.close();
    throw error;
  });
  warmUp(WARM_UP_FALLBACK_MS);

  // Errors no cell caught (a timer's, a forgotten promise's) must not end the kernel.
  const onUncaught = (error: unknown) => (loaded ? loaded.reportUncaught("Uncaught exception", error) : log(`uncaught: ${String(error)}`));
  const onRejection = (error: unknown) => (loaded ? loaded.reportUncaught("Unhandled promise rejection", error) : log(`unhandled rejection: ${String(error)}`));
  process.on("uncaughtException", onUncaught);
  process.on("unhandledRejection", onRejection);

  const stopped = server.shutdownRequested.then(async (restart) => {
    await server.close();
    sigint.close();
    process.off("uncaughtException", onUncaught);
    process.off("unhandledRejection", onRejection);
    return restart;
  });
  log(`started in ${cwd} (package ${PACKAGE_ROOT}, session ${server.session})`);
  return { server, stopped };
}
