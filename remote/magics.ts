/**
 * The remote client's `%petrel` magics, which the kernel loads with its session:
 *
 * ```
 * %petrel connect http://127.0.0.1:8080 --project demo --token T
 * %petrel register training                 // the notebook's bundle of these entities
 * %petrel run-remote training {"minAge": 21} // register what changed, execute, live progress, outputs
 * %petrel promote training --to production  // the same version, nothing rebuilt; shows the change first
 * %petrel fetch <execution-id>              // an execution with its nodes and outputs
 * ```
 *
 * After `%petrel connect`, `new Remote()` in a cell uses the same connection, and
 * `lastExecution()` is the execution `%petrel run-remote` or `%petrel fetch` last showed.
 */
import { display, escapeHtml, textTable, UsageError, type MagicContext, type MagicExtension } from "../kernel/jupyter/index.js";
import { parseDuration, type ResourceType, type Schedule, type SourceSet } from "../kernel/index.js";
import { setDefaultConnection } from "./config.js";
import { isRemoteError } from "./errors.js";
import { describeSchedule, type ScheduleView } from "./schedules.js";
import type { RemoteExecution } from "./execution.js";
import { Remote } from "./remote.js";

/** The notebook's state: the last execution shown, the version each name was last registered as. */
let last: RemoteExecution | undefined;
const registered = new Map<string, { version: string; domain: string }>();

/** The execution `%petrel run-remote` or `%petrel fetch` last showed in this kernel. */
export function lastExecution(): RemoteExecution | undefined {
  return last;
}

/** Words of a magic's arguments; "double" or 'single' quotes keep spaces (`--cron "0 2 * * *"`). */
function splitWords(args: string): string[] {
  const words: string[] = [];
  for (const m of args.matchAll(/"((?:[^"\\]|\\.)*)"|'([^']*)'|(\S+)/g)) words.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, "$1") : (m[2] ?? m[3]!));
  return words;
}

/** Splits `a b --flag v --bool` into words and flags. */
function parseArgs(args: string, flags: Record<string, "value" | "bool">, usage: string): { words: string[]; options: Record<string, string | true> } {
  const words: string[] = [];
  const options: Record<string, string | true> = {};
  const parts = splitWords(args);
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    if (!part.startsWith("--")) {
      words.push(part);
      continue;
    }
    const [name, inline] = part.slice(2).split("=", 2) as [string, string | undefined];
    const kind = flags[name];
    if (!kind) throw new UsageError(`unknown option --${name}; usage: ${usage}`);
    if (kind === "bool") options[name] = true;
    else {
      const value = inline ?? parts[++i];
      if (value === undefined) throw new UsageError(`--${name} needs a value; usage: ${usage}`);
      options[name] = value;
    }
  }
  return { words, options };
}

/** Entities defined in the notebook by name; a UsageError names what is missing. */
function entitiesOf(names: string[], ctx: MagicContext, magic: string): Record<string, { kind: ResourceType; name: string }> {
  const out: Record<string, { kind: ResourceType; name: string }> = {};
  for (const n of names) {
    const value = ctx.locals[n] as { kind?: unknown; name?: unknown } | undefined;
    if (value === undefined) throw new UsageError(`${magic}: nothing named ${n} is defined in this notebook`);
    if ((value.kind !== "task" && value.kind !== "workflow" && value.kind !== "launch_plan") || typeof value.name !== "string") {
      throw new UsageError(`${magic}: ${n} is not a task, workflow or launch plan`);
    }
    out[n] = value as { kind: ResourceType; name: string };
  }
  return out;
}

async function register(remote: Remote, names: string[], ctx: MagicContext, version?: string) {
  const roots = entitiesOf(names, ctx, "%petrel register");
  const sources = ctx.cells.sources as SourceSet | undefined;
  const result = await remote.register(roots, { ...(sources ? { sources } : {}), ...(version ? { version } : {}) });
  for (const e of result.entities) registered.set(`${e.id.resourceType}/${e.id.name}`, { version: e.id.version, domain: e.id.domain });
  return result;
}

function connected(): Remote {
  try {
    return new Remote();
  } catch (e) {
    if (isRemoteError(e)) throw new UsageError(`not connected: run %petrel connect <url> first (${e.message})`);
    throw e;
  }
}

/** Outputs of an execution as one display: scalars as text, DataFrames as their first rows. */
async function showOutputs(execution: RemoteExecution): Promise<void> {
  if (execution.phase !== "SUCCEEDED") return;
  const parts: string[] = [];
  const text: string[] = [];
  for (const name of await execution.outputs.names()) {
    const literal = (await execution.outputs.literals())[name]!;
    if (literal.kind === "blob" && literal.blob.format === "arrow") {
      const df = await execution.outputs.dataframe(name);
      const bundle = await df.toMimeBundle();
      parts.push(bundle["text/html"]!);
      text.push(bundle["text/plain"]!);
    } else {
      const value = await execution.outputs.get(name);
      const shown = typeof value === "string" ? value : JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v));
      parts.push(`<div><b>${escapeHtml(name)}</b>: <code>${escapeHtml(shown ?? String(value))}</code></div>`);
      text.push(`${name}: ${shown}`);
    }
  }
  if (parts.length) display.data({ "text/html": parts.join("\n"), "text/plain": text.join("\n") });
}

const USAGE = {
  connect: "%petrel connect [url] [--project P] [--domain D] [--token T]  connect this notebook to a Petrel backend (default: PETREL_ENDPOINT, PETREL_TOKEN)",
  register: "%petrel register <names...> [--version V]  register these entities (their bundle) on the backend",
  runRemote: "%petrel run-remote <workflow> [json inputs]  register what changed, run on the backend, show progress and outputs",
  promote: "%petrel promote <workflow> --to staging|production [--from D] [--version V]  promote the same version, nothing rebuilt",
  fetch: "%petrel fetch <execution-id>  show an execution, its nodes and outputs",
  schedule:
    '%petrel schedule <launchplan> [--cron "0 2 * * *" [--timezone Z] | --every 5m] | show <launchplan> | list  register and activate a schedule; next and past runs',
};

/** A schedule's next and past runs, as text. */
function scheduleText(view: ScheduleView, where: string): string {
  const when = (iso: string | undefined | null) => (iso ? iso.replace("T", " ").replace(/\.000Z$/, "Z") : "-");
  const past = view.pastRuns.length
    ? textTable(
        ["scheduled", "outcome", "execution", "phase", "version"],
        view.pastRuns.map((r) => [when(r.scheduledTime), r.outcome, r.execution ?? "-", r.phase ?? "-", r.version]),
      )
    : "no past runs";
  return [
    `launch plan ${view.launchPlan} in ${where}: ${view.activeVersion ? `version ${view.activeVersion} active` : "no version active"}`,
    `schedule: ${describeSchedule(view.schedule)}`,
    `next runs: ${view.nextRuns.map(when).join(", ") || "none"}`,
    past,
  ].join("\n");
}

/** The magics, for the kernel. */
export function kernelMagics(): MagicExtension[] {
  return [
    {
      name: "connect",
      usage: USAGE.connect,
      async run(args) {
        const { words, options } = parseArgs(args, { project: "value", domain: "value", token: "value" }, USAGE.connect);
        if (words.length > 1) throw new UsageError(`usage: ${USAGE.connect}`);
        // Without a URL: the environment (PETREL_ENDPOINT, PETREL_TOKEN, …) or the config file.
        const connection = {
          ...(words[0] ? { endpoint: words[0] } : {}),
          ...(options.project ? { project: options.project as string } : {}),
          ...(options.domain ? { domain: options.domain as string } : {}),
          ...(options.token ? { token: options.token as string } : {}),
        };
        let remote: Remote;
        try {
          remote = new Remote(connection); // a malformed or missing URL fails here, before anything changes
        } catch (e) {
          if (isRemoteError(e)) throw new UsageError(`%petrel connect: ${e.message}`);
          throw e;
        }
        const me = await remote.whoami();
        setDefaultConnection(connection);
        display.text(`connected to ${remote.endpoint} as ${me.name} (project ${remote.project}, domain ${remote.domain})`);
      },
    },
    {
      name: "register",
      usage: USAGE.register,
      async run(args, ctx) {
        const { words, options } = parseArgs(args, { version: "value" }, USAGE.register);
        if (words.length === 0) throw new UsageError(`usage: ${USAGE.register}`);
        const remote = connected();
        const result = await register(remote, words, ctx, options.version as string | undefined);
        const rows = result.entities.map((e) => [e.id.resourceType, e.id.name, e.status]);
        display.text(`registered in ${remote.project}/${remote.domain} as version ${result.version}${result.uploaded ? "" : " (bundle already uploaded)"}\n${textTable(["kind", "name", "status"], rows)}`);
      },
    },
    {
      name: "run-remote",
      usage: USAGE.runRemote,
      async run(args, ctx) {
        const m = /^([A-Za-z_$][\w$]*)(?:\s+([\s\S]+))?$/.exec(args);
        if (!m) throw new UsageError(`usage: ${USAGE.runRemote}`);
        const [, name, json] = m as unknown as [string, string, string | undefined];
        let inputs: Record<string, unknown> = {};
        if (json !== undefined) {
          try {
            inputs = JSON.parse(json) as Record<string, unknown>;
          } catch (e) {
            throw new UsageError(`%petrel run-remote ${name}: the inputs are not valid JSON (${(e as Error).message}): ${json}`);
          }
          if (typeof inputs !== "object" || inputs === null || Array.isArray(inputs)) throw new UsageError(`%petrel run-remote ${name}: the inputs must be a JSON object`);
        }
        const remote = connected();
        const target = entitiesOf([name], ctx, "%petrel run-remote")[name]!;
        if (target.kind === "task") throw new UsageError(`%petrel run-remote: ${name} is a task; run a workflow or launch plan that uses it`);
        const progress = display.text(`registering ${name}…`);
        const result = await register(remote, [name], ctx);
        progress.text(`registered ${name}@${result.version.slice(0, 19)}…; starting`);
        const started = await remote.execute(target, inputs, { version: result.version });
        last = started;
        const done = await remote.wait(started, { onProgress: (e) => progress.data(e.toMimeBundle()), signal: ctx.signal });
        last = done;
        progress.data(done.toMimeBundle());
        await showOutputs(done);
      },
    },
    {
      name: "promote",
      usage: USAGE.promote,
      async run(args, ctx) {
        const { words, options } = parseArgs(args, { to: "value", from: "value", version: "value" }, USAGE.promote);
        if (words.length !== 1 || typeof options.to !== "string") throw new UsageError(`usage: ${USAGE.promote}`);
        const remote = connected();
        const name = words[0]!;
        const local = ctx.locals[name] as { kind?: ResourceType; name?: string } | undefined;
        const kind: ResourceType = local?.kind === "launch_plan" || local?.kind === "task" ? local.kind : "workflow";
        const entityName = typeof local?.name === "string" ? local.name : name;
        const from = (options.from as string | undefined) ?? registered.get(`${kind}/${entityName}`)?.domain ?? remote.domain;
        const version = (options.version as string | undefined) ?? registered.get(`${kind}/${entityName}`)?.version ?? (await remote.fetchEntity(kind, entityName, undefined, { domain: from })).id.version;
        const plan = await remote.planPromotion(kind, entityName, version, { from, to: options.to });
        const rows = plan.map((c) => [c.resourceType, c.name, c.current ?? "—", c.version, c.change]);
        const shown = display.text(`promoting ${entityName}@${version} from ${from} to ${options.to}:\n${textTable(["kind", "name", `${options.to} now`, "after", "change"], rows)}`);
        const result = await remote.promote({ kind, name: entityName }, version, { from, to: options.to });
        shown.text(
          `promoted ${entityName}@${version} from ${from} to ${options.to}: ${result.promoted.length} registered, ${result.alreadyPresent.length} already there\n${textTable(
            ["kind", "name", `${options.to} before`, "now", "change"],
            rows,
          )}`,
        );
      },
    },
    {
      name: "schedule",
      usage: USAGE.schedule,
      async run(args, ctx) {
        const { words, options } = parseArgs(args, { cron: "value", timezone: "value", every: "value" }, USAGE.schedule);
        const remote = connected();
        const where = `${remote.project}/${remote.domain}`;
        if (words[0] === "list" && words.length === 1) {
          const list = await remote.schedules().list();
          display.text(
            list.items.length
              ? textTable(["launch plan", "version", "schedule", "next run"], list.items.map((i) => [i.launchPlan, i.version, describeSchedule(i.schedule), i.nextRun ?? "-"]))
              : `no active launch plan in ${where} has a schedule`,
          );
          return;
        }
        if (words[0] === "show" && words.length === 2) {
          display.text(scheduleText(await remote.schedules().show(words[1]!), where));
          return;
        }
        if (words.length !== 1) throw new UsageError(`usage: ${USAGE.schedule}`);
        const name = words[0]!;
        if (options.cron !== undefined && options.every !== undefined) throw new UsageError("%petrel schedule: give --cron or --every, not both");
        if (options.timezone !== undefined && options.cron === undefined) throw new UsageError("%petrel schedule: --timezone goes with --cron");
        const local = ctx.locals[name] as { kind?: unknown; name?: string } | undefined;
        let lpName = name;
        let from: string | undefined;
        if (local !== undefined) {
          // A launch plan of this notebook: register what changed first, then schedule that version.
          if (local.kind !== "launch_plan" || typeof local.name !== "string") throw new UsageError(`%petrel schedule: ${name} is not a launch plan`);
          lpName = local.name;
          from = (await register(remote, [name], ctx)).version;
        }
        let schedule: Schedule | undefined;
        if (options.cron !== undefined) schedule = { kind: "cron", expression: options.cron as string, ...(options.timezone ? { timezone: options.timezone as string } : {}) };
        else if (options.every !== undefined) schedule = { kind: "rate", everyMs: parseDuration(options.every as string, "--every") };
        if (schedule) {
          await remote.schedules().set(lpName, schedule, { ...(from ? { from } : {}), activate: true });
        } else {
          if (!from) throw new UsageError(`%petrel schedule ${name}: give --cron or --every, or define the launch plan in this notebook`);
          await remote.schedules().activate(lpName, from);
        }
        display.text(scheduleText(await remote.schedules().show(lpName), where));
      },
    },
    {
      name: "fetch",
      usage: USAGE.fetch,
      async run(args) {
        const id = args.trim();
        if (!id || /\s/.test(id)) throw new UsageError(`usage: ${USAGE.fetch}`);
        const execution = await connected().fetchExecution(id);
        last = execution;
        display.data(execution.toMimeBundle());
        await showOutputs(execution);
      },
    },
  ];
}
