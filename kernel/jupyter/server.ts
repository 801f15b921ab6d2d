/**
 * The protocol server: binds the five Jupyter sockets, verifies and decodes
 * requests, runs shell requests one at a time and control requests beside them,
 * wraps every request in `busy`/`idle`, and implements `stop_on_error` exactly: a
 * failed execution aborts the execute requests already queued behind it, and
 * nothing that arrives after it (no timing window).
 */
import { randomUUID } from "node:crypto";
import { setImmediate as nextTick } from "node:timers/promises";
import { Publisher, Router } from "zeromq";
import { startHeartbeat, type Heartbeat } from "./heartbeat.js";
import { Outbox } from "./outbox.js";
import {
  addressOf,
  createHeader,
  decodeMessage,
  encodeMessage,
  Signer,
  type ConnectionInfo,
  type Content,
  type Message,
} from "./wire.js";

/** Which socket a request came on. */
export type Channel = "shell" | "control";

/** A request, with the socket it came on (its reply goes back there). */
export type Request<C extends Content = Content> = Message<C> & { readonly channel: Channel };

/** Answers one request type: returns the reply's content (sent as `<type>_reply`), or undefined to send none. */
export type RequestHandler = (request: Request) => Promise<Content | undefined> | Content | undefined;

/** Options of `KernelServer.start()`. */
export interface KernelServerOptions {
  connection: ConnectionInfo;
  /** Handlers by request type (`execute_request`, ...). `shutdown_request` is answered by the server itself. */
  handlers: Readonly<Record<string, RequestHandler>>;
  /** Called before the server answers a shutdown request (release resources here). */
  onShutdown?: (restart: boolean) => Promise<void> | void;
  /** Where the kernel's own diagnostics go (never a notebook). */
  log: (message: string) => void;
}

/**
 * Messages that may already sit in the shell socket when an execution fails are
 * pulled in for at most this many event-loop turns before the queue is aborted.
 */
const MAX_SETTLE_TURNS = 100;
/** How long closing sockets wait to deliver the last messages (shutdown reply, idle). */
const LINGER_MS = 1000;

/** A running kernel's sockets and request loop. */
export class KernelServer {
  /** This kernel's session id (the `session` of every message it sends). */
  readonly session = randomUUID();
  /** Resolves with `restart` once a shutdown request has been answered. */
  readonly shutdownRequested: Promise<boolean>;

  private readonly signer: Signer;
  private readonly shell = new Router({ linger: LINGER_MS });
  private readonly control = new Router({ linger: LINGER_MS });
  private readonly stdin = new Router({ linger: LINGER_MS });
  // Unlimited queue: a publisher at its high-water mark drops messages silently.
  private readonly iopub = new Publisher({ linger: LINGER_MS, sendHighWaterMark: 0 });
  private readonly outbox: Outbox;
  private heartbeat: Heartbeat | undefined;
  private readonly queue: Request[] = [];
  private readonly aborted = new WeakSet<Request>();
  private draining = false;
  private controlTail: Promise<void> = Promise.resolve();
  private resolveShutdown!: (restart: boolean) => void;
  private closing: Promise<void> | undefined;

  private constructor(private readonly options: KernelServerOptions) {
    this.signer = new Signer(options.connection.key, options.connection.signature_scheme);
    this.outbox = new Outbox((e) => options.log(`send failed: ${(e as Error).message}`));
    this.shutdownRequested = new Promise((resolve) => (this.resolveShutdown = resolve));
  }

  /** Binds every socket and starts answering requests. */
  static async start(options: KernelServerOptions): Promise<KernelServer> {
    const server = new KernelServer(options);
    const c = options.connection;
    await Promise.all([
      server.shell.bind(addressOf(c, c.shell_port)),
      server.control.bind(addressOf(c, c.control_port)),
      server.stdin.bind(addressOf(c, c.stdin_port)),
      server.iopub.bind(addressOf(c, c.iopub_port)),
    ]);
    server.heartbeat = await startHeartbeat(addressOf(c, c.hb_port));
    void server.read(server.shell, "shell");
    void server.read(server.control, "control");
    await server.publish(undefined, "status", { execution_state: "starting" });
    return server;
  }

  /** Publishes an iopub message caused by `parent` (undefined: by no request). */
  publish(parent: Message | undefined, msgType: string, content: Content, metadata: Content = {}): Promise<boolean> {
    const message: Message = {
      identities: [Buffer.from(`kernel.${this.session}.${msgType}`)],
      header: createHeader(msgType, this.session),
      parent_header: parent?.header ?? {},
      metadata,
      content,
      buffers: [],
    };
    return this.outbox.send(this.iopub, encodeMessage(message, this.signer));
  }

  /** Sends `msgType` back to whoever sent `request`, on its socket. */
  reply(request: Request, msgType: string, content: Content, metadata: Content = {}): Promise<boolean> {
    const message: Message = {
      identities: request.identities,
      header: createHeader(msgType, this.session),
      parent_header: request.header,
      metadata,
      content,
      buffers: [],
    };
    return this.outbox.send(request.channel === "shell" ? this.shell : this.control, encodeMessage(message, this.signer));
  }

  /**
   * Marks every execute request already queued behind the running one as aborted
   * (each still gets busy, an `aborted` reply and idle, in order). Call it before
   * sending the failed request's reply: a client can only send a request after it
   * has that reply, so no request sent later is ever aborted. Messages that already
   * reached the socket are pulled into the queue first. Returns how many were aborted.
   */
  async abortQueuedExecutions(): Promise<number> {
    for (let turn = 0; turn < MAX_SETTLE_TURNS; turn++) {
      await nextTick();
      if (turn > 0 && !this.shell.readable) break;
    }
    let count = 0;
    for (const request of this.queue) {
      if (request.header.msg_type !== "execute_request" || this.aborted.has(request)) continue;
      this.aborted.add(request);
      count++;
    }
    return count;
  }

  /** Sends what is queued, then closes every socket and the heartbeat. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.outbox.drained();
      for (const socket of [this.shell, this.control, this.stdin, this.iopub]) socket.close();
      await this.heartbeat?.close();
    })();
    return this.closing;
  }

  private async read(socket: Router, channel: Channel): Promise<void> {
    try {
      for await (const frames of socket) {
        let request: Request;
        try {
          request = Object.assign(decodeMessage(frames, this.signer), { channel });
        } catch (e) {
          this.options.log(`dropped a message on ${channel}: ${(e as Error).message}`);
          continue;
        }
        if (channel === "shell") {
          this.queue.push(request);
          this.drain();
        } else {
          // Control requests run beside shell requests, in their own order.
          this.controlTail = this.controlTail.then(() => this.process(request));
        }
      }
    } catch (e) {
      if (!this.closing) this.options.log(`${channel} socket failed: ${(e as Error).message}`);
    }
  }

  /** Runs queued shell requests one at a time. */
  private drain(): void {
    if (this.draining) return;
    this.draining = true;
    void (async () => {
      try {
        for (let next = this.queue.shift(); next; next = this.queue.shift()) await this.process(next);
      } finally {
        this.draining = false;
      }
    })();
  }

  private async process(request: Request): Promise<void> {
    const type = request.header.msg_type;
    const replyType = type.endsWith("_request") ? `${type.slice(0, -"_request".length)}_reply` : undefined;
    // Sends keep their order in the outbox: the request need not wait for this one.
    void this.publish(request, "status", { execution_state: "busy" });
    let restart: boolean | undefined;
    try {
      if (this.aborted.has(request)) {
        await this.reply(request, "execute_reply", { status: "aborted" });
      } else if (type === "shutdown_request") {
        restart = request.content.restart === true;
        await this.options.onShutdown?.(restart);
        await this.reply(request, "shutdown_reply", { status: "ok", restart });
      } else {
        const handler = this.options.handlers[type];
        if (!handler) {
          this.options.log(`no handler for ${type} on ${request.channel}`);
        } else {
          const content = await handler(request);
          // Queued, not awaited: the outbox sends it before the idle status below.
          if (content && replyType) void this.reply(request, replyType, content);
        }
      }
    } catch (e) {
      const error = e instanceof Error ? e : new Error(String(e));
      this.options.log(`${type} failed: ${error.stack ?? error.message}`);
      if (replyType) {
        await this.reply(request, replyType, {
          status: "error",
          ename: error.name,
          evalue: error.message,
          traceback: [`${error.name}: ${error.message}`],
        });
      }
    } finally {
      await this.publish(request, "status", { execution_state: "idle" });
    }
    if (restart !== undefined) this.resolveShutdown(restart);
  }
}
