/**
 * The Jupyter wire protocol (messaging spec 5.3): ZeroMQ frames to and from
 * messages, HMAC signatures, headers and the connection file.
 */
import { createHmac, randomUUID, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import { userInfo } from "node:os";

/** The messaging protocol version this kernel speaks. */
export const PROTOCOL_VERSION = "5.3";

const DELIMITER = Buffer.from("<IDS|MSG>");

/** A kernel's connection file, as Jupyter writes it. */
export interface ConnectionInfo {
  transport: string;
  ip: string;
  shell_port: number;
  iopub_port: number;
  stdin_port: number;
  control_port: number;
  hb_port: number;
  key: string;
  signature_scheme: string;
  kernel_name?: string;
}

/** A message header. */
export interface MessageHeader {
  msg_id: string;
  session: string;
  username: string;
  date: string;
  msg_type: string;
  version: string;
}

/** JSON content of a message. */
export type Content = Record<string, unknown>;

/** One message, with the ZeroMQ routing identities it came with (replies go back to them). */
export interface Message<C extends Content = Content> {
  identities: Buffer[];
  header: MessageHeader;
  /** The header of the request this message answers or was caused by; `{}` for none. */
  parent_header: MessageHeader | Record<string, never>;
  metadata: Content;
  content: C;
  buffers: Buffer[];
}

/** A malformed or wrongly signed message. */
export class WireError extends Error {
  override name = "WireError";
}

/** Signs and verifies messages with the connection's key (no key: no signatures, as the spec allows). */
export class Signer {
  private readonly algorithm: string | undefined;
  private readonly key: string;

  constructor(key: string, scheme = "hmac-sha256") {
    this.key = key;
    if (!key) {
      this.algorithm = undefined;
      return;
    }
    const m = /^hmac-(sha\d+)$/.exec(scheme);
    if (!m) throw new WireError(`unsupported signature_scheme ${JSON.stringify(scheme)} (expected hmac-sha256)`);
    this.algorithm = m[1]!;
  }

  /** The hex HMAC of header, parent header, metadata and content, in that order. */
  sign(parts: readonly (Buffer | string)[]): string {
    if (!this.algorithm) return "";
    const hmac = createHmac(this.algorithm, this.key);
    for (const p of parts) hmac.update(p);
    return hmac.digest("hex");
  }

  /** Constant-time comparison with the expected signature. */
  verify(signature: string, parts: readonly Buffer[]): boolean {
    if (!this.algorithm) return true;
    const expected = Buffer.from(this.sign(parts), "utf8");
    const got = Buffer.from(signature, "utf8");
    return got.length === expected.length && timingSafeEqual(got, expected);
  }
}

/** Decodes the frames of one message; throws WireError when they are malformed or the signature is wrong. */
export function decodeMessage(frames: readonly Buffer[], signer: Signer): Message {
  const at = frames.findIndex((f) => f.equals(DELIMITER));
  if (at < 0) throw new WireError("message without the <IDS|MSG> delimiter");
  if (frames.length < at + 6) throw new WireError(`message with ${frames.length - at - 1} frames after the delimiter, expected at least 5`);
  const signature = frames[at + 1]!.toString("utf8");
  const parts = frames.slice(at + 2, at + 6);
  if (!signer.verify(signature, parts)) throw new WireError("message with an invalid signature");
  const [header, parent, metadata, content] = parts.map((p, i) => parseJson(p, ["header", "parent_header", "metadata", "content"][i]!));
  if (!isObject(header) || typeof header.msg_type !== "string" || typeof header.msg_id !== "string") {
    throw new WireError("message header without msg_id or msg_type");
  }
  return {
    identities: frames.slice(0, at),
    header: header as unknown as MessageHeader,
    parent_header: (isObject(parent) ? parent : {}) as unknown as MessageHeader,
    metadata: isObject(metadata) ? metadata : {},
    content: isObject(content) ? content : {},
    buffers: frames.slice(at + 6),
  };
}

/** Encodes and signs a message into frames. */
export function encodeMessage(message: Message, signer: Signer): Buffer[] {
  const parts = [message.header, message.parent_header, message.metadata, message.content].map((p) => Buffer.from(JSON.stringify(p, jsonSafe), "utf8"));
  return [...message.identities, DELIMITER, Buffer.from(signer.sign(parts), "utf8"), ...parts, ...message.buffers];
}

const USERNAME = (() => {
  try {
    return userInfo().username;
  } catch {
    return "kernel";
  }
})();

/** A fresh header for a message of `msgType` in `session`. */
export function createHeader(msgType: string, session: string): MessageHeader {
  return {
    msg_id: randomUUID(),
    session,
    username: USERNAME,
    date: new Date().toISOString(),
    msg_type: msgType,
    version: PROTOCOL_VERSION,
  };
}

const PORTS = ["shell_port", "iopub_port", "stdin_port", "control_port", "hb_port"] as const;

/** Reads and checks a connection file. */
export function readConnectionFile(path: string): ConnectionInfo {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new WireError(`cannot read connection file ${path}: ${(e as Error).message}`);
  }
  if (!isObject(json)) throw new WireError(`connection file ${path} is not a JSON object`);
  for (const port of PORTS) {
    if (!Number.isInteger(json[port])) throw new WireError(`connection file ${path}: ${port} must be an integer`);
  }
  return {
    transport: typeof json.transport === "string" ? json.transport : "tcp",
    ip: typeof json.ip === "string" ? json.ip : "127.0.0.1",
    key: typeof json.key === "string" ? json.key : "",
    signature_scheme: typeof json.signature_scheme === "string" ? json.signature_scheme : "hmac-sha256",
    ...(typeof json.kernel_name === "string" ? { kernel_name: json.kernel_name } : {}),
    ...(Object.fromEntries(PORTS.map((p) => [p, json[p] as number])) as Pick<ConnectionInfo, (typeof PORTS)[number]>),
  };
}

/** The ZeroMQ address of one of the kernel's ports. */
export function addressOf(info: ConnectionInfo, port: number): string {
  return info.transport === "ipc" ? `ipc://${info.ip}-${port}` : `${info.transport}://${info.ip}:${port}`;
}

/** JSON has no bigint: send its decimal text (display data may hold them). */
function jsonSafe(_key: string, value: unknown): unknown {
  return typeof value === "bigint" ? value.toString() : value;
}

function parseJson(frame: Buffer, what: string): unknown {
  try {
    return JSON.parse(frame.toString("utf8"));
  } catch {
    throw new WireError(`message ${what} is not JSON`);
  }
}

function isObject(x: unknown): x is Content {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}
