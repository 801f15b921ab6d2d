/**
 * A backend with an engine and the console fixtures registered, and small
 * helpers to request console pages as a signed-in user (the session cookie is
 * the token itself).
 */
import { join } from "node:path";
import { buildBundle, type LiteralMap } from "../../kernel/index.js";
import { SESSION_COOKIE, type NodeExecutionRecord } from "../../backend/index.js";
import { DOMAIN, PROJECT, registerBundle, startEngineBackend, type EngineBackend } from "../engine/harness.js";
import * as fixtures from "./fixtures.js";

export { DOMAIN, PROJECT };
export const FIXTURES = join(import.meta.dirname, "fixtures.ts");

/** Markup that must never reach a page unescaped. */
export const XSS = ["<script>alert(1)</script>", '"><img src=x onerror=alert(1)>'] as const;
export const XSS_TEXT = `${XSS[0]} and ${XSS[1]}`;

export interface ConsoleBackend {
  eb: EngineBackend;
  version: string;
  tokens: { editor: string; viewer: string; other: string };
  /** GET (or another method) a console path as a token; the text is read. */
  get(path: string, token?: string | null, init?: RequestInit): Promise<{ res: Response; text: string }>;
  /** The CSRF token of a token's session, as its pages carry it. */
  csrf(token: string): Promise<string>;
  /** POST a form as a token. */
  post(path: string, token: string | null, form: Record<string, string>, headers?: Record<string, string>): Promise<{ res: Response; text: string }>;
  /** Runs a workflow to its end and returns the execution's name. */
  run(workflow: string, inputs: LiteralMap, extra?: Record<string, unknown>): Promise<string>;
  /** The node of an execution that runs `task`. */
  nodeOf(execution: string, task: string): Promise<NodeExecutionRecord>;
  close(): Promise<void>;
}

export const cookie = (token: string) => `${SESSION_COOKIE}=${token}`;

export async function startConsoleBackend(): Promise<ConsoleBackend> {
  const eb = await startEngineBackend();
  const version = await registerBundle(eb.backend, PROJECT, DOMAIN, buildBundle(fixtures, { entry: FIXTURES }));
  await eb.backend.createProject("other");
  const tokens = {
    editor: await eb.backend.createToken([{ project: PROJECT, role: "editor" }], "eddie"),
    viewer: await eb.backend.createToken([{ project: PROJECT, role: "viewer" }], "vera"),
    other: await eb.backend.createToken([{ project: "other", role: "admin" }], "otto"),
  };
  const get: ConsoleBackend["get"] = async (path, token = tokens.editor, init = {}) => {
    const headers = new Headers(init.headers);
    if (token !== null) headers.set("cookie", cookie(token));
    const res = await eb.backend.app.request(path, { ...init, headers });
    return { res, text: await res.text() };
  };
  const cb: ConsoleBackend = {
    eb,
    version,
    tokens,
    get,
    async csrf(token) {
      const { text } = await get("/", token);
      const m = /name="csrf" value="([^"]+)"/.exec(text);
      if (!m) throw new Error(`no CSRF token in the home page: ${text.slice(0, 500)}`);
      return m[1]!;
    },
    post(path, token, form, headers = {}) {
      return get(path, token, { method: "POST", body: new URLSearchParams(form), headers: { "content-type": "application/x-www-form-urlencoded", ...headers } });
    },
    async run(workflow, inputs, extra) {
      const name = await eb.execute({ workflow }, inputs, extra);
      await eb.wait(name);
      return name;
    },
    async nodeOf(execution, task) {
      const nodes = Object.values(await eb.nodes(execution));
      const node = nodes.find((n) => n.target?.name === task && !n.nodeId.includes("["));
      if (!node) throw new Error(`no node runs ${task} in ${execution}: ${nodes.map((n) => n.nodeId).join(", ")}`);
      return node;
    },
    close: () => eb.close(),
  };
  return cb;
}
