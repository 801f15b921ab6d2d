/**
 * `petrel schedule`: put a launch plan on a schedule, list the scheduled launch
 * plans of a domain, and show one schedule's next and past runs. A launch plan
 * version is immutable, so scheduling one registers a new version (same
 * workflow version, same inputs, the new schedule; the version is derived from
 * the old one and the schedule unless --version names it) and, with
 * --activate, makes it the active version, which moves the schedule.
 *
 * ```sh
 * petrel schedule nightly --cron "0 6 * * *" --timezone Europe/Paris --activate
 * petrel schedule poller --every 5m --catch-up none --concurrency skip --activate
 * petrel schedule list
 * petrel schedule show nightly --json
 * ```
 *
 * Exit codes: 0 success, 2 usage (bad arguments, a bad schedule, no endpoint),
 * 3 not found, 4 auth (unauthenticated or forbidden), 5 anything else.
 */
import { Command, InvalidArgumentError, Option, type CommanderError } from "commander";
import {
  checkTimeZone,
  parseCron,
  parseDuration,
  type Schedule,
  type ScheduleCatchUp,
  type ScheduleConcurrency,
} from "../kernel/index.js";
import { describeSchedule } from "../remote/index.js";
import { EXIT, exitCodeOf, remoteOf, usage, type ConnectionOptions } from "./remote.js";


/** Where `petrel schedule` writes and how it ends; tests replace them. */
export interface ScheduleCommandIo {
  /** Ends the command with an exit code (default: process.exit). */
  exit?: (code: number) => void;
  /** Results (default: stdout). */
  out?: (text: string) => void;
  /** Errors and notes (default: stderr). */
  err?: (text: string) => void;
}

/** Next runs `show` prints by default. */
const DEFAULT_SHOW_NEXT = 5;
/** Past runs `show` prints by default. */
const DEFAULT_SHOW_PAST = 20;

interface SetFlags extends ConnectionOptions {
  cron?: string;
  timezone?: string;
  every?: string;
  kickoffInput?: string;
  catchUp?: ScheduleCatchUp;
  catchUpLimit?: number;
  concurrency?: ScheduleConcurrency;
  activate?: boolean;
  version?: string;
}

interface ShowFlags extends ConnectionOptions {
  next?: number;
  limit?: number;
}



const wholeNumber =
  (min: number, max: number) =>
  (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || n < min || n > max) throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}.`);
    return n;
  };

const when = (iso: string | null | undefined) => (iso ? iso.replace("T", " ").replace(/\.000Z$/, "Z") : "-");

/** Rows as aligned columns. */
function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  return [header, ...rows].map((cells) => cells.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd()).join("\n");
}

/** The schedule the flags describe (the policy flags not given keep the old schedule's, in Schedules.set). */
function scheduleOf(o: SetFlags): Schedule {
  if ((o.cron === undefined) === (o.every === undefined)) throw usage("give exactly one of --cron <expression> or --every <duration>");
  if (o.timezone !== undefined && o.cron === undefined) throw usage("--timezone goes with --cron");
  const policy = {
    ...(o.kickoffInput !== undefined ? { kickoffTimeInput: o.kickoffInput } : {}),
    ...(o.catchUp !== undefined ? { catchUp: o.catchUp } : {}),
    ...(o.catchUpLimit !== undefined ? { catchUpLimit: o.catchUpLimit } : {}),
    ...(o.concurrency !== undefined ? { concurrency: o.concurrency } : {}),
  };
  if (o.cron !== undefined) {
    parseCron(o.cron);
    if (o.timezone !== undefined) checkTimeZone(o.timezone);
    return { kind: "cron", expression: o.cron.trim(), ...(o.timezone !== undefined ? { timezone: o.timezone } : {}), ...policy };
  }
  return { kind: "rate", everyMs: parseDuration(o.every!, "--every"), ...policy };
}

/**
 * The `schedule` command, with `list` and `show` beneath it.
 *
 * @example
 * ```ts
 * import { Command } from "commander";
 * new Command("petrel").addCommand(scheduleCommand()).parseAsync(process.argv);
 * ```
 */
export function scheduleCommand(io: ScheduleCommandIo = {}): Command {
  const exit = io.exit ?? ((code: number) => process.exit(code));
  const out = io.out ?? ((text: string) => void process.stdout.write(text));
  const err = io.err ?? ((text: string) => void process.stderr.write(text));

  const print = (json: boolean | undefined, doc: unknown, text: () => string) => out(json ? `${JSON.stringify(doc, null, 2)}\n` : `${text()}\n`);

  /** Runs a subcommand's body; what it throws becomes `petrel: <message>` and its exit code. */
  const handler =
    <F>(body: (flags: F, args: string[]) => Promise<void>) =>
    async (...args: unknown[]): Promise<void> => {
      const cmd = args.at(-1) as Command;
      const flags = cmd.opts() as F;
      let code: number = EXIT.OK;
      try {
        await body(flags, cmd.args);
      } catch (e) {
        code = exitCodeOf(e);
        err(`petrel: ${e instanceof Error ? e.message : String(e)}\n`);
      }
      exit(code);
    };

  const configure = (cmd: Command): Command =>
    cmd
      .option("--endpoint <url>", "the backend's URL (default: PETREL_ENDPOINT, then the config file)")
      .option("--project <name>", "the project (default: PETREL_PROJECT, the config file, then default)")
      .option("--domain <name>", "the domain (default: PETREL_DOMAIN, the config file, then development)")
      .option("--token <token>", "a bearer token (default: PETREL_TOKEN, then the config file)")
      .option("--json", "print one JSON document on stdout, for scripts")
      .configureOutput({ writeOut: out, writeErr: err, outputError: (text, write) => write(`petrel: ${text.replace(/^error: /, "")}`) })
      .exitOverride((e: CommanderError) => {
        exit(e.exitCode === 0 ? EXIT.OK : EXIT.USAGE);
        // Reached only when `exit` returns (tests): end the parse here.
        throw e;
      });

  const setSchedule = handler<SetFlags>(async (o, args) => {
    const name = args[0];
    if (name === undefined) throw usage("name the launch plan: petrel schedule <launchplan> --cron ... | --every ...");
    const remote = remoteOf(o);
    const doc = await remote.schedules().set(name, scheduleOf(o), { ...(o.version !== undefined ? { version: o.version } : {}), activate: o.activate === true });
    print(o.json, doc, () =>
      [
        `launch plan ${name}@${doc.version} registered from ${doc.from}: ${describeSchedule(doc.schedule)}`,
        o.activate
          ? `activated${doc.previousActiveVersion && doc.previousActiveVersion !== doc.version ? ` (replacing ${doc.previousActiveVersion})` : ""}; next runs: ${(doc.nextRuns ?? []).map(when).join(", ") || "none"}`
          : `not active yet: petrel schedule ${name} ... --activate, or activate version ${doc.version}`,
      ].join("\n"),
    );
  });

  const list = handler<ConnectionOptions>(async (o) => {
    const remote = remoteOf(o);
    const doc = await remote.schedules().list();
    print(o.json, doc, () =>
      doc.items.length === 0
        ? `no active launch plan in ${remote.project}/${remote.domain} has a schedule`
        : table(
            ["LAUNCH PLAN", "VERSION", "SCHEDULE", "NEXT RUN"],
            doc.items.map((s) => [s.launchPlan, s.version, describeSchedule(s.schedule), when(s.nextRun)]),
          ),
    );
  });

  const show = handler<ShowFlags>(async (o, args) => {
    const name = args[0]!;
    const remote = remoteOf(o);
    const doc = await remote.schedules().show(name, { next: o.next ?? DEFAULT_SHOW_NEXT, limit: o.limit ?? DEFAULT_SHOW_PAST });
    print(o.json, doc, () => {
      const lines = [
        `launch plan ${name} in ${remote.project}/${remote.domain}: ${doc.activeVersion ? `version ${doc.activeVersion} active` : "no version active"}`,
        `schedule: ${describeSchedule(doc.schedule)}`,
        `next runs: ${doc.nextRuns.map(when).join(", ") || "none"}`,
      ];
      if (doc.pastRuns.length === 0) lines.push("past runs: none");
      else {
        lines.push("past runs:");
        lines.push(
          table(
            ["SCHEDULED", "OUTCOME", "EXECUTION", "PHASE", "VERSION", "REASON"],
            doc.pastRuns.map((r) => [when(r.scheduledTime), r.outcome, r.execution ?? "-", r.phase ?? "-", r.version, r.reason ?? ""]),
          ),
        );
      }
      return lines.join("\n");
    });
  });

  const root = configure(new Command("schedule"))
    .description("Put a launch plan on a cron or fixed-rate schedule (a new version), list schedules, show next and past runs.")
    .argument("[launchplan]", "the launch plan to schedule (its active version, else its newest, is the base)")
    .option("--cron <expression>", 'a cron expression: 5 fields or @hourly, @daily, @weekly, @monthly, @yearly (e.g. "0 6 * * 1-5")')
    .option("--timezone <zone>", "the cron expression's IANA time zone (default UTC)")
    .option("--every <duration>", "a fixed rate, e.g. 5m, 1h30m (ticks count from activation)")
    .option("--kickoff-input <name>", "a datetime input that receives each tick's scheduled time")
    .addOption(new Option("--catch-up <policy>", "ticks missed while no scheduler ran: none, latest (default) or all").choices(["none", "latest", "all"]))
    .option("--catch-up-limit <n>", "with --catch-up all, at most this many missed ticks fire (default 100)", wholeNumber(1, 10_000))
    .addOption(new Option("--concurrency <policy>", "allow (default), or skip a tick while the previous scheduled run still runs").choices(["allow", "skip"]))
    .option("--version <version>", "the new launch plan version (default: derived from the base version and the schedule)")
    .option("--activate", "make the new version active, which moves the schedule to it")
    .enablePositionalOptions()
    .addHelpText(
      "after",
      `
Examples:
  petrel schedule nightly --cron "0 6 * * *" --timezone Europe/Paris --activate
  petrel schedule poller --every 5m --catch-up none --concurrency skip --activate
  petrel schedule list
  petrel schedule show nightly

Exit codes: 0 success, 2 usage or a bad schedule, 3 not found, 4 auth, 5 other.`,
    )
    .action(setSchedule);

  root.addCommand(configure(new Command("list")).description("The active launch plans of the domain that have a schedule, with their next run.").action(list));
  root.addCommand(
    configure(new Command("show"))
      .description("A launch plan's schedule: active version, next runs, and past ticks (fired, skipped, missed or failed) with their executions.")
      .argument("<launchplan>", "the launch plan")
      .option("--next <n>", `next runs to show (default ${DEFAULT_SHOW_NEXT})`, wholeNumber(0, 100))
      .option("--limit <n>", `past runs to show (default ${DEFAULT_SHOW_PAST})`, wholeNumber(1, 1000))
      .action(show),
  );
  return root;
}
