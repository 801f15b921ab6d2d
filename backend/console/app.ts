/** The console's routes, as a Hono app to mount at `/` beside the API. */
import { Hono, type Context } from "hono";
import type { ApiDeps } from "../api/index.js";
import { ASSET_PATHS, CONSOLE_CSS, CONSOLE_JS } from "./assets.js";
import { domainPage } from "./domain-page.js";
import { attemptLogs, blobDownload, nodeBlobDownload } from "./downloads.js";
import { actionPage, actionSubmit, type ExecutionAction } from "./execution-actions.js";
import { executionLive, executionPage } from "./execution-page.js";
import { executionsPage } from "./executions-page.js";
import { homePage } from "./home-page.js";
import { errorPage } from "./layout.js";
import { loginPage, loginSubmit, logoutPage, logoutSubmit } from "./login-page.js";
import { nodePage, previewFragment } from "./node-page.js";
import { paths } from "./paths.js";
import { htmlResponse, pageWrapper } from "./request.js";
import { Sessions } from "./session.js";
import { promotePage, promoteSubmit, workflowDiffPage, workflowPage } from "./workflow-page.js";

/** What the console runs on: the API's services, and the API app it calls in-process. */
export interface ConsoleOptions {
  deps: ApiDeps;
  /** The API app (anything with Hono's `request`): every read and action goes through it. */
  api: { request(path: string, init?: RequestInit): Response | Promise<Response> };
}

const DOMAIN = "/projects/:project/domains/:domain";
const EXECUTION = `${DOMAIN}/executions/:execution`;
const NODE = `${EXECUTION}/nodes/:node`;
const WORKFLOW = `${DOMAIN}/workflows/:name`;

/**
 * The web console: server-rendered pages over the API, mounted at the root of
 * the backend's app (`app.route("/", createConsole({ deps, api: app }))`).
 */
export function createConsole(options: ConsoleOptions): Hono {
  const { deps } = options;
  const sessions = new Sessions(deps);
  const handle = pageWrapper(deps, sessions, (path, init) => options.api.request(path, init));
  const app = new Hono();

  const asset = (body: string, type: string) => (c: Context) =>
    c.body(body, 200, { "content-type": type, "cache-control": "public, max-age=31536000, immutable", "x-content-type-options": "nosniff" });
  app.get(ASSET_PATHS.css, asset(CONSOLE_CSS, "text/css; charset=utf-8"));
  app.get(ASSET_PATHS.js, asset(CONSOLE_JS, "text/javascript; charset=utf-8"));
  app.get("/favicon.ico", (c) => c.body(null, 204));

  app.get("/login", (c) => loginPage(c, sessions, deps));
  app.post("/login", (c) => loginSubmit(c, sessions, deps));
  app.get("/logout", (c) => logoutPage(c, sessions, deps));
  app.post("/logout", (c) => logoutSubmit(c, sessions, deps));

  app.get("/", handle(homePage));
  app.get(
    "/projects/:project",
    handle(async (ctx) => {
      await ctx.api.get(`/projects/${encodeURIComponent(ctx.param("project"))}`);
      return ctx.c.redirect(paths.domain(ctx.param("project"), deps.settings.domains[0]!), 302);
    }),
  );
  app.get(DOMAIN, handle(domainPage));
  app.get(`${DOMAIN}/executions`, handle(executionsPage));
  app.get(EXECUTION, handle(executionPage));
  app.get(`${EXECUTION}/live`, handle(executionLive, { json: true }));
  for (const action of ["terminate", "relaunch", "recover"] as ExecutionAction[]) {
    app.get(`${EXECUTION}/${action}`, handle(actionPage(action)));
    app.post(`${EXECUTION}/${action}`, handle(actionSubmit(action)));
  }
  app.get(NODE, handle(nodePage));
  for (const side of ["inputs", "outputs"] as const) {
    app.get(`${NODE}/${side}/:var/preview`, handle(previewFragment(side)));
    app.get(`${NODE}/${side}/:var/blob`, handle(nodeBlobDownload(side)));
  }
  app.get(`${NODE}/attempts/:attempt/logs`, handle(attemptLogs));
  app.get(
    `${DOMAIN}/workflows`,
    handle(async (ctx) => ctx.c.redirect(`${paths.domain(ctx.param("project"), ctx.param("domain"))}#workflows-h`, 302)),
  );
  app.get(WORKFLOW, handle(workflowPage));
  app.get(`${WORKFLOW}/diff`, handle(workflowDiffPage));
  app.get(
    `${WORKFLOW}/versions/:version`,
    handle(async (ctx) => ctx.c.redirect(`${paths.workflow(ctx.param("project"), ctx.param("domain"), ctx.param("name"))}?version=${encodeURIComponent(ctx.param("version"))}`, 302)),
  );
  app.get(`${WORKFLOW}/versions/:version/promote`, handle(promotePage));
  app.post(`${WORKFLOW}/versions/:version/promote`, handle(promoteSubmit));
  app.get("/projects/:project/blobs/:hash", handle(blobDownload));

  // Anything else outside the API is a console page that does not exist.
  app.all("*", async (c, next) => {
    if (c.req.path === "/api" || c.req.path.startsWith("/api/")) return next();
    const session = await sessions.resolve(c).catch(() => undefined);
    return htmlResponse(c, errorPage(404, `There is no page at ${c.req.path}.`, session), 404);
  });
  return app;
}
