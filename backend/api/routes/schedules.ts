/** Schedules: a launch plan's schedule with its next and past runs, and the scheduled launch plans of a domain. */
import { API_ERRORS, badRequest } from "../errors.js";
import { parsePage } from "../executions.js";
import { json, projectRole, type RouteDef } from "../route.js";
import { DEFAULT_NEXT_RUNS, MAX_NEXT_RUNS, launchPlanScheduleView, listSchedulesView } from "../schedules.js";

/** Past runs shown when the caller gives no `limit`. */
const DEFAULT_PAST_RUNS = 20;

function parseNext(query: URLSearchParams): number {
  const text = query.get("n");
  if (text === null) return DEFAULT_NEXT_RUNS;
  if (!/^[0-9]{1,3}$/.test(text) || Number(text) > MAX_NEXT_RUNS) {
    throw badRequest("n", `${JSON.stringify(text)} is not an integer from 0 to ${MAX_NEXT_RUNS}`, API_ERRORS.INVALID_PARAMETER);
  }
  return Number(text);
}

export const scheduleRouteDefs: RouteDef[] = [
  {
    method: "GET",
    path: "/projects/{project}/domains/{domain}/launch-plans/{name}/schedule",
    operationId: "getLaunchPlanSchedule",
    summary:
      "A launch plan's schedule: the active version and its schedule, the next runs, and past ticks newest first, each fired (with its execution and phase), skipped (the previous run still ran), missed (catch-up policy) or failed.",
    tag: "schedules",
    access: "project",
    query: [
      { name: "n", description: `Next runs to show (0-${MAX_NEXT_RUNS}, default ${DEFAULT_NEXT_RUNS}).`, type: "integer" },
      { name: "limit", description: `Past runs per page (1-1000, default ${DEFAULT_PAST_RUNS}).`, type: "integer" },
      { name: "cursor", description: "The `next` of the previous page of past runs." },
    ],
    responses: { 200: { description: "The schedule, next runs and a page of past runs.", schema: "object" }, 404: { description: "No such launch plan, or hidden from the caller.", schema: "Error" } },
    authorize: projectRole("viewer"),
    async handle(ctx) {
      const { project, domain, name } = ctx.params as Record<string, string>;
      const page = parsePage(ctx.query);
      if (ctx.query.get("limit") === null) page.limit = DEFAULT_PAST_RUNS;
      return json(ctx, 200, await launchPlanScheduleView(ctx.deps, project, domain, name, { next: parseNext(ctx.query), page }));
    },
  },
  {
    method: "GET",
    path: "/projects/{project}/domains/{domain}/schedules",
    operationId: "listSchedules",
    summary: "The active launch plans of a domain that have a schedule, with their next run.",
    tag: "schedules",
    access: "project",
    responses: { 200: { description: "Scheduled launch plans by name.", schema: "object" } },
    authorize: projectRole("viewer"),
    async handle(ctx) {
      return json(ctx, 200, await listSchedulesView(ctx.deps, ctx.params.project!, ctx.params.domain!));
    },
  },
];
