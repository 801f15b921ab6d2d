/**
 * The console's URLs mirror the API's paths (without `/api/v1`), so a link the
 * remote client prints opens the page of the same thing. Each helper gives the
 * console path; the API path is the same string under the API prefix.
 */
import { href } from "./html.js";

export const paths = {
  home: () => "/",
  project: (p: string) => href("projects", p),
  domain: (p: string, d: string) => href("projects", p, "domains", d),
  executions: (p: string, d: string) => href("projects", p, "domains", d, "executions"),
  execution: (p: string, d: string, e: string) => href("projects", p, "domains", d, "executions", e),
  node: (p: string, d: string, e: string, n: string) => href("projects", p, "domains", d, "executions", e, "nodes", n),
  attemptLogs: (p: string, d: string, e: string, n: string, attempt: number) => href("projects", p, "domains", d, "executions", e, "nodes", n, "attempts", String(attempt), "logs"),
  nodeData: (p: string, d: string, e: string, n: string, side: "inputs" | "outputs", v: string) => href("projects", p, "domains", d, "executions", e, "nodes", n, side, v),
  workflows: (p: string, d: string) => href("projects", p, "domains", d, "workflows"),
  workflow: (p: string, d: string, w: string) => href("projects", p, "domains", d, "workflows", w),
  workflowVersion: (p: string, d: string, w: string, v: string) => href("projects", p, "domains", d, "workflows", w, "versions", v),
  launchPlan: (p: string, d: string, l: string) => href("projects", p, "domains", d, "launch-plans", l),
  task: (p: string, d: string, t: string) => href("projects", p, "domains", d, "tasks", t),
  blob: (p: string, hash: string) => href("projects", p, "blobs", hash),
};
