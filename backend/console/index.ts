/**
 * The web console: server-rendered pages at the backend's root URL, whose paths
 * mirror the API's (`/projects/p/domains/d/executions/e` is the page of what
 * `/api/v1/projects/p/domains/d/executions/e` returns). Sign in with a token at
 * `/login`; every page reads through the API as that token, so it shows exactly
 * what the token may see, and a foreign project is "not found" like a missing one.
 *
 * - `/` projects and domains; `/projects/{p}/domains/{d}` workflows, launch plans
 *   with versions and schedules (next and past runs), tasks, latest executions
 * - `.../executions` filtered, cursor-paged list (Server-Timing on every page)
 * - `.../executions/{name}` the DAG (SVG, phases live while it runs, subworkflows,
 *   branches and maps expandable), the Gantt timeline of attempts, the node
 *   table, inputs and outputs; terminate, relaunch and recover
 * - `.../executions/{name}/nodes/{node}` inputs and outputs (DataFrames paged from
 *   the Arrow data API, files downloadable), the cache decision, attempts with
 *   errors, stacks and logs (followed while running)
 * - `.../workflows/{name}` versions, `.../diff?from=&to=`, promotion to a later
 *   domain with a confirmation showing the diff against that domain's version
 *
 * HTML comes from the `html` tagged template, which escapes every interpolation.
 * Forms that change something carry a per-session CSRF token and must come from
 * this origin; the session cookie is HttpOnly and SameSite=Strict.
 *
 * @example
 * ```ts
 * import { createApi, createConsole } from "petrel/backend";
 * const app = createApi(deps);
 * app.route("/", createConsole({ deps, api: app }));   // the console at /, the API at /api/v1
 * ```
 */
export { createConsole, type ConsoleOptions } from "./app.js";
export { html, escapeHtml, SafeHtml, type HtmlValue } from "./html.js";
export { layoutDag, DEFAULT_LAYOUT, type DagLayout, type LayoutInput, type LayoutOptions } from "./dag-layout.js";
export { SESSION_COOKIE, CSRF_FIELD } from "./session.js";
