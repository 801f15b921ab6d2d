/**
 * A notebook as a pipeline step: notebooks/report.ipynb (a danfo report with a
 * `parameters` cell, outputs recorded with `petrel.record`) runs as the notebook
 * task `report`, inside the workflow `reporting`, which the launch plan
 * `nightly_report` runs every night at 02:00 with the scheduled time as `runAt`.
 * Besides what the notebook records, each run hands back the executed notebook
 * and its HTML rendering.
 *
 * ```ts
 * const run = await reporting.run({ runAt: new Date() });
 * run.outputs.table;  // the DataFrame the notebook recorded
 * run.outputs.html;   // the executed notebook as one page
 * ```
 */
import { launchPlan, notebookTask, t, workflow } from "../../kernel/index.js";

/** The report notebook; its path is relative to this file. */
export const report = notebookTask({
  name: "report",
  path: "../report.ipynb",
  inputs: { rows: t.int(), seed: t.int(), runAt: t.datetime() },
  outputs: { summary: t.float().describe("Average order value"), table: t.dataframe().describe("Orders and revenue by region") },
  cache: true,
  retries: 1,
  timeout: "10m",
});

/** The nightly report: the notebook's outputs, the executed notebook and its HTML. */
export const reporting = workflow(
  {
    name: "reporting",
    inputs: { runAt: t.datetime(), rows: t.int().default(1000), seed: t.int().default(7) },
    outputs: { summary: t.float(), table: t.dataframe(), notebook: t.file(), html: t.file() },
  },
  ({ runAt, rows, seed }) => {
    const r = report({ rows, seed, runAt });
    return { summary: r.summary, table: r.table, notebook: r.notebook, html: r.html };
  },
);

/** Every night at 02:00 (UTC), with the scheduled time as `runAt`. */
export const nightlyReport = launchPlan({
  name: "nightly_report",
  workflow: reporting,
  schedule: { cron: "0 2 * * *", kickoffInput: "runAt" },
});
