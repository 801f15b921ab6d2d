/**
 * The console is a client of the HTTP API: every read and every action goes
 * through the same routes, authorization and validation as the remote client,
 * in-process (no socket), with the signed-in user's token. A project the token
 * cannot see therefore answers exactly what the API answers: not found.
 */
import { API_PREFIX } from "../api/index.js";
import type { Identifier, LiteralMap } from "../../kernel/index.js";

/** How the console reaches the API: the API app's `request` (in-process). */
export type ApiFetch = (path: string, init?: RequestInit) => Response | Promise<Response>;

/** An API error response, as the console shows it. */
export class ApiCallError extends Error {
  override name = "ApiCallError";
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

/** Guard that works across realms (the console never crosses one, but errors are compared by name everywhere else too). */
export function isApiCallError(error: unknown): error is ApiCallError {
  return error instanceof Error && error.name === "ApiCallError";
}

/** Calls the API as one caller, and times the calls for Server-Timing. */
export class ConsoleApi {
  /** Milliseconds spent waiting on the API during this request. */
  elapsedMs = 0;

  constructor(
    private readonly fetchApi: ApiFetch,
    private readonly token: string | undefined,
  ) {}

  /** A raw API response; throws {@link ApiCallError} on an error status. */
  async raw(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.token !== undefined) headers.set("authorization", `Bearer ${this.token}`);
    const started = performance.now();
    try {
      const res = await this.fetchApi(`${API_PREFIX}${path}`, { ...init, headers });
      if (res.status >= 400) throw await errorOf(res);
      return res;
    } finally {
      this.elapsedMs += performance.now() - started;
    }
  }

  /** GET a JSON document. */
  async get<T>(path: string): Promise<T> {
    const res = await this.raw(path);
    return (await res.json()) as T;
  }

  /** GET a JSON document, or `undefined` on 404. */
  async find<T>(path: string): Promise<T | undefined> {
    try {
      return await this.get<T>(path);
    } catch (error) {
      if (isApiCallError(error) && error.status === 404) return undefined;
      throw error;
    }
  }

  /** POST a JSON body; resolves with the JSON answer. */
  async post<T>(path: string, body: unknown): Promise<T> {
    const res = await this.raw(path, { method: "POST", body: JSON.stringify(body), headers: { "content-type": "application/json" } });
    return (await res.json()) as T;
  }
}

async function errorOf(res: Response): Promise<ApiCallError> {
  const text = await res.text();
  try {
    const body = JSON.parse(text) as { error?: { code?: string; message?: string; field?: string } };
    if (body.error?.message) return new ApiCallError(res.status, body.error.code ?? "ERROR", body.error.message, body.error.field);
  } catch {
    // Not JSON: fall through to the status line.
  }
  return new ApiCallError(res.status, "ERROR", `the API answered ${res.status}`);
}

// ---- the API's JSON views, as far as the console reads them --------------------------------

/** Literals stored inline, or a reference to fetch them through the data API. */
export interface WithLiterals {
  inputs?: LiteralMap;
  inputsRef?: { hash: string; size: number };
  outputs?: LiteralMap;
  outputsRef?: { hash: string; size: number };
}

/** A failure record. */
export interface FailureView {
  kind: "user" | "system";
  code: string;
  message: string;
  stack?: string;
  retryable: boolean;
}

export interface ProjectView {
  name: string;
  description: string;
  labels: Record<string, string>;
  domains: string[];
  createdAt: string;
}

export interface ExecutionView extends WithLiterals {
  project: string;
  domain: string;
  name: string;
  workflow: Identifier;
  launchPlan?: Identifier;
  phase: string;
  mode: string;
  source?: string;
  error?: FailureView;
  abort?: { cause: string; by: string; at: string };
  labels: Record<string, string>;
  parent?: { execution: string; node: string };
  createdAt: string;
  createdBy: string;
  updatedAt: string;
  startedAt?: string;
  endedAt?: string;
}

export interface AttemptView {
  attempt: number;
  phase: string;
  error?: FailureView;
  logs?: Record<string, string>;
  runner?: { kind: string; id: string };
  startedAt?: string;
  endedAt?: string;
  updatedAt: string;
}

export interface NodeView extends WithLiterals {
  nodeId: string;
  phase: string;
  error?: FailureView;
  cache?: { status: string; reason?: string; key?: string };
  checkpoint?: { hash: string; size: number };
  target?: Identifier;
  child?: string;
  /** A count, or the attempts themselves when asked for. */
  attempts: number | AttemptView[];
  createdAt: string;
  updatedAt: string;
  startedAt?: string;
  endedAt?: string;
}

export interface EntityView<S = unknown> {
  id: Identifier;
  spec: S;
  bundle?: string;
  digest: string;
  references: Identifier[];
  createdAt: string;
  createdBy: string;
  promotedFrom?: { fromDomain: string; by: string; at: string };
  active?: boolean;
}

export interface VersionView {
  version: string;
  digest: string;
  bundle?: string;
  createdAt: string;
  createdBy: string;
  promotedFrom?: { fromDomain: string; by: string; at: string };
  active?: boolean;
}

export interface NameView {
  name: string;
  latestVersion: string;
  versions: number;
  updatedAt: string;
}

export interface PageView<T> {
  items: T[];
  next?: string;
}
