/**
 * The remote client's commands of the `petrel` command line: connect, register,
 * run, get, logs, outputs, promote, terminate, relaunch, recover. Each one is a
 * thin shell over `Remote` (remote/): it parses arguments, calls the client, and
 * prints an aligned table for people or, with `--json`, one JSON document on stdout
 * for scripts. Progress and errors go to stderr; errors read `petrel: <message>`.
 *
 * ```sh
 * petrel connect http://127.0.0.1:8080 --project demo --token T
 * petrel register notebooks/examples/training.ts
 * petrel run training --input rows=500 --wait
 * petrel outputs <execution> --node clean --name df --out clean.arrow
 * petrel promote training <version> --to production --yes
 * ```
 *
 * Exit codes, which scripts may rely on (see {@link EXIT}):
 *   0  success
 *   1  the execution finished but did not succeed (FAILED, TIMED_OUT, ABORTED), with
 *      --wait; or a promotion was declined at the prompt
 *   2  usage error: bad arguments, an unknown option, a bad --input, a file that
 *      does not load, no endpoint configured
 *   3  not found: no such execution, workflow, node, output (or the outputs of
 *      something that did not succeed)
 *   4  auth: no token or a bad one (unauthenticated), or a role too weak (forbidden)
 *   5  the backend is unreachable, failed, or refused the request for another reason
 *
 * PETREL_DEBUG=1 adds the stack trace to error messages.
 */
import { existsSync, readFileSync } from "node:fs";
import { register as registerHooks } from "node:module";
import { tmpdir } from "node:os";
import { dirname, extname, join, resolve as resolvePath } from "node:path";
import { createInterface } from "node:readline/promises";
import { pathToFileURL } from "node:url";
import { Command, InvalidArgumentError, type CommanderError } from "commander";
import {
  blobsOf,
  decodeIPC,
  type BundleRoots,
  EXECUTION_PHASES,
  isPetrelError,
  isTerminalPhase,
  typeToString,
  type Literal,
  type LiteralMap,
  type LiteralType,
  type NodePhase,
  type ResourceType,
  type SourceSet,
  type Variable,
} from "../kernel/index.js";
import { formatDuration, runNotebook, textTable } from "../kernel/jupyter/index.js";
import {
  configFilePath,
  describeInputs,
  isRemoteError,
  Remote,
  REMOTE_ERRORS,
  resolveConfig,
  writeConfigFile,
  type Registration,
  type RemoteExecution,
  type Values,
} from "../remote/index.js";

/** Exit codes of the remote commands; scripts may rely on them. */
export const EXIT = {
  OK: 0,
  /** The execution finished but did not succeed (with --wait), or a promotion was declined. */
  NOT_SUCCEEDED: 1,
  /** Bad arguments, unknown option, bad --input, a file that does not load, no endpoint. */
  USAGE: 2,
  NOT_FOUND: 3,
  /** Unauthenticated or forbidden. */
  AUTH: 4,
  /** Unreachable, server error, or any other remote error. */
  REMOTE: 5,
} as const;

const EXIT_CODES_HELP = `
Exit codes:
  0  success
  1  the execution finished but did not succeed (FAILED, TIMED_OUT, ABORTED) with --wait,
     or a promotion was declined
  2  usage error: bad arguments, unknown option, bad --input, no endpoint configured,
     or a request the backend refused as invalid
  3  not found (execution, workflow, node, output)
  4  auth: unauthenticated (no or bad token) or forbidden (role too weak)
  5  unreachable, server error, or another remote error

The connection comes from --endpoint/--project/--domain/--token, else PETREL_ENDPOINT,
PETREL_PROJECT, PETREL_DOMAIN, PETREL_TOKEN, else the config file \`petrel connect\` writes.`;

/** How many executions `get executions` lists by default. */
const DEFAULT_LIST_LIMIT = 20;
/** Rows of a DataFrame output that `outputs` shows. */
const PREVIEW_ROWS = 10;
/** The shell's code for a process stopped by Ctrl-C (128 + SIGINT). */
const SIGINT_EXIT = 130;

/** A failure with its exit code and a message for people. */
export class CliError extends Error {
  constructor(
    readonly exitCode: number,
    message: string,
  ) {
    super(message);
  }
}

export const usage = (message: string) => new CliError(EXIT.USAGE, message);

/** The exit code of anything a command throws. */
export function exitCodeOf(e: unknown): number {
  if (e instanceof CliError) return e.exitCode;
  if (isRemoteError(e)) {
    switch (e.code) {
      case REMOTE_ERRORS.NOT_CONFIGURED:
      case REMOTE_ERRORS.INVALID_INPUTS:
      case REMOTE_ERRORS.INVALID_REQUEST:
        return EXIT.USAGE;
      case REMOTE_ERRORS.NOT_FOUND:
      case REMOTE_ERRORS.NO_OUTPUTS:
        return EXIT.NOT_FOUND;
      case REMOTE_ERRORS.UNAUTHENTICATED:
      case REMOTE_ERRORS.FORBIDDEN:
        return EXIT.AUTH;
      default:
        return EXIT.REMOTE;
    }
  }
  // Errors of the user's own definitions (compile, bundle, type errors) are bad input.
  if (isPetrelError(e)) return EXIT.USAGE;
  return EXIT.REMOTE;
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

// ---------------------------------------------------------------- output

/** Writes and waits until the text is handed to the OS (the process exits right after). */
function write(stream: NodeJS.WriteStream, text: string): Promise<void> {
  return new Promise((resolve) => {
    if (!text) resolve();
    else stream.write(text, () => resolve());
  });
}

const bigintSafe = (_key: string, value: unknown) => (typeof value === "bigint" ? value.toString() : value);

/** What a command prints: a JSON document with --json, else text for people. */
function print(json: boolean, doc: unknown, text: () => string): Promise<void> {
  if (json) return write(process.stdout, `${JSON.stringify(doc, bigintSafe, 2)}\n`);
  const t = text();
  return write(process.stdout, t.endsWith("\n") || !t ? t : `${t}\n`);
}

const when = (iso: string | undefined) => (iso ? iso.replace("T", " ").replace(/\.\d+Z$|Z$/, "") : "");
const shortVersion = (v: string) => (v.startsWith("sha256:") ? `${v.slice(0, 19)}…` : v);

/** A literal as plain JSON: scalars as values, blobs as their references (nothing is downloaded). */
function plainLiteral(literal: Literal): unknown {
  switch (literal.kind) {
    case "none":
      return null;
    case "int": {
      const n = Number(literal.value);
      return Number.isSafeInteger(n) ? n : literal.value;
    }
    case "list":
      return literal.items.map(plainLiteral);
    case "map":
      return Object.fromEntries(Object.entries(literal.entries).map(([k, v]) => [k, plainLiteral(v)]));
    case "union":
      return plainLiteral(literal.value);
    case "blob":
      return { blob: { ...literal.blob } };
    default:
      return literal.value;
  }
}

const plainLiterals = (map: LiteralMap) => Object.fromEntries(Object.entries(map).map(([k, v]) => [k, plainLiteral(v)]));

/** An execution for scripts: the record, its nodes, and its inputs and outputs as plain values. */
async function executionJson(e: RemoteExecution): Promise<Record<string, unknown>> {
  const json: Record<string, unknown> = { ...e.toJSON(), url: e.url };
  try {
    json.inputs = plainLiterals(await e.inputs.literals());
  } catch {
    delete json.inputs;
  }
  if (e.phase === "SUCCEEDED") json.outputs = plainLiterals(await e.outputs.literals());
  else delete json.outputs;
  delete json.inputsRef;
  delete json.outputsRef;
  return json;
}

/** An execution for people: header, node table, the error if it failed. */
function executionText(e: RemoteExecution): string {
  const lines = [e.toString()];
  if (e.error) lines.push(`error: ${e.error.code}: ${e.error.message}`);
  if (e.view.abort) lines.push(`aborted by ${e.view.abort.by}: ${e.view.abort.cause}`);
  lines.push(e.url);
  return lines.join("\n");
}

/** The outputs as a table (name, type, value) followed by DataFrame previews. */
async function valuesText(values: Values, types: Record<string, LiteralType> | undefined, only?: string): Promise<string> {
  const literals = await values.literals();
  const names = only ? [only] : Object.keys(literals);
  if (only && !Object.hasOwn(literals, only)) await values.get(only); // the NOT_FOUND error naming what exists
  const rows: string[][] = [];
  const frames: string[] = [];
  for (const name of names) {
    const literal = literals[name]!;
    const type = types?.[name];
    const typeText = type ? typeToString(type) : literal.kind === "blob" ? (literal.blob.format === "arrow" ? "dataframe" : literal.blob.format) : literal.kind;
    if (literal.kind === "blob" && literal.blob.format === "arrow") {
      const df = await values.dataframe(name);
      rows.push([name, typeText, `${literal.blob.hash.slice(0, 19)}… (${literal.blob.size} bytes; first ${PREVIEW_ROWS} rows below)`]);
      frames.push(`${name}:\n${(await df.toMimeBundle(PREVIEW_ROWS))["text/plain"]}`);
    } else if (blobsOf(literal).length > 0) {
      rows.push([name, typeText, JSON.stringify(plainLiteral(literal), bigintSafe)]);
    } else {
      const value = plainLiteral(literal);
      rows.push([name, typeText, typeof value === "string" ? value : JSON.stringify(value, bigintSafe)]);
    }
  }
  return [textTable(["name", "type", "value"], rows), ...frames].join("\n\n");
}

/** Progress of a wait on stderr: one line updated in place on a terminal, plain lines otherwise. */
function progressReporter(): { onProgress: (e: RemoteExecution) => void; end: () => void } {
  const tty = process.stderr.isTTY === true;
  let last = "";
  return {
    onProgress(e) {
      const rows = e.rows();
      const total = Math.max(e.spec?.nodes.length ?? 0, rows.length);
      const done = rows.filter((r) => isTerminalPhase(r.phase as NodePhase)).length;
      const running = rows.filter((r) => r.phase === "RUNNING").map((r) => r.id);
      const line = `execution ${e.name}: ${e.phase}, ${done}/${total} nodes done${running.length ? ` (running ${running.join(", ")})` : ""}`;
      if (line === last) return;
      last = line;
      if (tty) process.stderr.write(`\r\x1b[2K${line.slice(0, Math.max(20, (process.stderr.columns || 80) - 1))}`);
      else process.stderr.write(`${line}\n`);
    },
    end() {
      if (tty && last) process.stderr.write("\n");
      last = "";
    },
  };
}

/** Waits with progress on stderr; Ctrl-C stops waiting, not the execution, and says so. */
async function waitFor(remote: Remote, execution: RemoteExecution): Promise<RemoteExecution> {
  const progress = progressReporter();
  const interrupted = () => {
    progress.end();
    process.stderr.write(`petrel: stopped waiting; execution ${execution.name} keeps running (petrel terminate ${execution.name} stops it)\n`);
    process.exit(SIGINT_EXIT);
  };
  process.once("SIGINT", interrupted);
  try {
    return await remote.wait(execution, { onProgress: progress.onProgress });
  } finally {
    process.off("SIGINT", interrupted);
    progress.end();
  }
}

// ---------------------------------------------------------------- commands

/** Options every remote command takes. */
export interface ConnectionOptions {
  endpoint?: string;
  project?: string;
  domain?: string;
  token?: string;
  json?: boolean;
}

/** A Remote from the command's options; unset ones come from the environment and the config file. */
export function remoteOf(o: ConnectionOptions): Remote {
  return new Remote({ endpoint: o.endpoint, project: o.project, domain: o.domain, token: o.token });
}

/** A command that exits 2 on usage errors and prints them as `petrel: …`. */
function command(name: string, description: string): Command {
  return new Command(name)
    .description(description)
    .configureOutput({ outputError: (text, out) => out(`petrel: ${text.replace(/^error: /, "")}`) })
    .showHelpAfterError("(add --help for usage)")
    .exitOverride((e: CommanderError) => process.exit(e.exitCode === 0 ? EXIT.OK : EXIT.USAGE));
}

/** A command of the remote client: the connection options, --json, the exit codes in its help. */
function remoteCommand(name: string, description: string, examples: string[] = []): Command {
  const help = `${examples.length ? `\nExample${examples.length > 1 ? "s" : ""}:\n${examples.map((e) => `  ${e}`).join("\n")}\n` : ""}${EXIT_CODES_HELP}`;
  return command(name, description)
    .option("--endpoint <url>", "the backend's URL (default: PETREL_ENDPOINT, then the config file)")
    .option("--project <name>", "the project (default: PETREL_PROJECT, the config file, then default)")
    .option("--domain <name>", "the domain (default: PETREL_DOMAIN, the config file, then development)")
    .option("--token <token>", "a bearer token (default: PETREL_TOKEN, then the config file)")
    .option("--json", "print one JSON document on stdout, for scripts")
    .addHelpText("after", help);
}

/** Runs a command's body, prints what it throws as `petrel: <message>`, and exits with its code. */
function handler(body: (cmd: Command) => Promise<number | void>): (...args: unknown[]) => Promise<void> {
  return async (...args) => {
    const cmd = args.at(-1) as Command;
    let code: number = EXIT.OK;
    try {
      code = (await body(cmd)) ?? EXIT.OK;
    } catch (e) {
      code = exitCodeOf(e);
      const stack = process.env.PETREL_DEBUG && e instanceof Error && e.stack ? `\n${e.stack}` : "";
      await write(process.stderr, `petrel: ${messageOf(e)}${stack}\n`);
    }
    // Exit now: the client's keep-alive sockets would hold the process open for seconds.
    process.exit(code);
  };
}

const collect = (value: string, previous: string[] | undefined) => [...(previous ?? []), value];

/** A parser of whole-number option values of at least `min`. */
const wholeNumber =
  (min: number) =>
  (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min) throw new InvalidArgumentError(`expected a whole number ≥ ${min}.`);
    return n;
  };

/** `k=v` pairs (--label, --input) split at the first `=`. */
function pairs(list: string[], option: string): [string, string][] {
  return list.map((item) => {
    const at = item.indexOf("=");
    if (at <= 0) throw usage(`${option} ${JSON.stringify(item)}: expected name=value`);
    return [item.slice(0, at), item.slice(at + 1)];
  });
}

// ---------------------------------------------------------------- inputs

/** A JSON example of a type, for messages. */
function exampleOf(type: LiteralType): string {
  switch (type.kind) {
    case "int":
      return "500";
    case "float":
      return "0.5";
    case "bool":
      return "true";
    case "duration":
      return "1500 (milliseconds)";
    case "list":
      return `[${exampleOf(type.items)}]`;
    case "map":
      return `{"key": ${exampleOf(type.values)}}`;
    case "struct":
      return `{${Object.entries(type.fields)
        .map(([k, v]) => `"${k}": ${exampleOf(v)}`)
        .join(", ")}}`;
    case "optional":
      return `${exampleOf(type.type)} or null`;
    case "enum":
      return JSON.stringify(type.values[0] ?? "");
    case "none":
      return "null";
    default:
      return '"text"';
  }
}

/** Reads a DataFrame input from a file: Arrow IPC (.arrow, what `petrel outputs --out` writes) or CSV. */
async function readTable(name: string, path: string): Promise<unknown> {
  if (!existsSync(path)) throw usage(`--input ${name}: no file ${path} (a dataframe input is an Arrow IPC file or a .csv)`);
  if (extname(path).toLowerCase() === ".csv") {
    const { readCSV } = await import("danfojs-node");
    return readCSV(path);
  }
  try {
    return decodeIPC(readFileSync(path));
  } catch (e) {
    throw usage(`--input ${name}: ${path} is not an Arrow IPC file (${messageOf(e)}); give an .arrow file or a .csv`);
  }
}

/**
 * One `--input name=value` by the input's type: strings, enums, datetimes, files
 * and directories (paths) are taken as written; DataFrames are read from a file;
 * everything else is JSON. The type engine checks the result (`remote.execute`).
 */
async function parseInput(name: string, raw: string, type: LiteralType): Promise<unknown> {
  switch (type.kind) {
    case "string":
    case "enum":
    case "file":
    case "dir":
      return raw;
    case "datetime":
      return raw.startsWith('"') ? parseJson(name, raw, type) : raw;
    case "dataframe":
      return readTable(name, raw);
    case "optional":
      return raw === "null" ? null : parseInput(name, raw, type.type);
    case "int":
      if (/^-?\d+$/.test(raw.trim())) {
        const n = Number(raw);
        return Number.isSafeInteger(n) ? n : BigInt(raw.trim());
      }
      return parseJson(name, raw, type);
    case "union": {
      try {
        return JSON.parse(raw) as unknown;
      } catch {
        if (type.variants.some((v) => v.kind === "string" || v.kind === "enum" || v.kind === "datetime")) return raw;
        return parseJson(name, raw, type);
      }
    }
    default:
      return parseJson(name, raw, type);
  }
}

function parseJson(name: string, raw: string, type: LiteralType): unknown {
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    throw usage(`--input ${name}=${raw}: expected ${typeToString(type)}, as JSON (e.g. ${name}=${exampleOf(type)})`);
  }
}

/** The inputs of `run`: --inputs-json, then each --input over it, parsed by the interface's types. */
async function inputsOf(o: { input?: string[]; inputsJson?: string }, iface: Record<string, Variable>, where: string): Promise<Record<string, unknown>> {
  const inputs: Record<string, unknown> = {};
  const check = (name: string) => {
    if (!Object.hasOwn(iface, name)) throw usage(`${where} has no input ${JSON.stringify(name)} (inputs: ${describeInputs(iface) || "none"})`);
    return iface[name]!.type;
  };
  if (o.inputsJson !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(o.inputsJson);
    } catch (e) {
      throw usage(`--inputs-json is not valid JSON (${messageOf(e)})`);
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw usage(`--inputs-json must be a JSON object of input names to values`);
    for (const [name, value] of Object.entries(parsed)) {
      const type = check(name);
      inputs[name] = type.kind === "dataframe" && typeof value === "string" ? await readTable(name, value) : value;
    }
  }
  for (const [name, raw] of pairs(o.input ?? [], "--input")) inputs[name] = await parseInput(name, raw, check(name));
  return inputs;
}

// ---------------------------------------------------------------- register

type Entity = { readonly kind: ResourceType; readonly name: string };

function isEntity(x: unknown): x is Entity {
  if ((typeof x !== "object" && typeof x !== "function") || x === null) return false;
  const e = x as { kind?: unknown; name?: unknown };
  return (e.kind === "task" || e.kind === "workflow" || e.kind === "launch_plan") && typeof e.name === "string";
}

/** The entities among named values, optionally only those named in `--entities` (by variable or entity name). */
function pickEntities(values: Record<string, unknown>, only: string[] | undefined, from: string): [string, Entity][] {
  const all = Object.entries(values).filter((kv): kv is [string, Entity] => isEntity(kv[1]));
  if (all.length === 0) throw usage(`${from} defines no tasks, workflows or launch plans`);
  if (!only) return all;
  const picked: [string, Entity][] = [];
  for (const want of only) {
    const hits = all.filter(([k, e]) => k === want || e.name === want);
    if (hits.length === 0) throw usage(`--entities: ${from} defines nothing named ${want} (it defines ${all.map(([k]) => k).join(", ")})`);
    for (const hit of hits) if (!picked.some(([k]) => k === hit[0])) picked.push(hit);
  }
  return picked;
}

/** Imports a .ts or .js module in this process (TypeScript through cli/ts-loader) and returns its exports. */
async function importModule(file: string): Promise<Record<string, unknown>> {
  registerHooks(new URL("./ts-loader.js", import.meta.url));
  // Only the user's module has its source map read (Petrel's own modules are loaded
  // already): the call sites that tasks record then name the .ts file's own lines.
  process.setSourceMapsEnabled(true);
  // Whatever the module prints at load goes to stderr: stdout is for our output.
  const stdoutWrite = process.stdout.write;
  process.stdout.write = process.stderr.write.bind(process.stderr) as typeof process.stdout.write;
  try {
    return (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (e) {
    if (isPetrelError(e)) throw e;
    throw usage(`cannot load ${file}: ${messageOf(e)}`);
  } finally {
    process.stdout.write = stdoutWrite;
  }
}

function registrationText(remote: Remote, r: Registration): string {
  const rows = r.entities.map((e) => [e.id.resourceType, e.id.name, e.status]);
  const where = r.entities[0]?.id ?? remote;
  return [
    `registered in ${where.project}/${where.domain}`,
    `version  ${r.version}`,
    `bundle   ${r.bundle}${r.uploaded ? "" : " (already uploaded)"}`,
    "",
    textTable(["kind", "name", "status"], rows),
  ].join("\n");
}

function registerCommand(): Command {
  return remoteCommand("register", "Register the tasks, workflows and launch plans a .ts file or a notebook defines (one bundle)", [
    "petrel register notebooks/examples/training.ts",
    "petrel register notebooks/churn.ipynb --entities churn --json",
  ])
    .argument("<file>", "a .ts (or .js) module, or a notebook (.ipynb)")
    .option("--version <version>", "the version to register under (default: the bundle's content hash)")
    .option("--entities <names>", "only these (comma-separated variable or entity names), with what they use")
    .action(
      handler(async (cmd) => {
        const [file] = cmd.processedArgs as [string];
        const o = cmd.opts<ConnectionOptions & { version?: string; entities?: string }>();
        const path = resolvePath(file);
        if (!existsSync(path)) throw usage(`no file ${file}`);
        const only = o.entities?.split(",").map((s) => s.trim()).filter(Boolean);
        const remote = remoteOf(o);
        const version = o.version ? { version: o.version } : {};
        let result: Registration;
        const ext = extname(path).toLowerCase();
        if (ext === ".ipynb") {
          // Cells run where Jupyter runs them: in the notebook's folder (relative data paths).
          const cwd = process.cwd();
          process.chdir(dirname(path));
          const run = await runNotebook(path, { skipMagics: true }).finally(() => process.chdir(cwd));
          // The run captures stdout and stderr until it is closed: nothing is printed before.
          try {
            if (run.error) {
              const { cell, ename, evalue } = run.error;
              throw usage(`${file}: cell ${cell + 1} failed: ${ename}: ${evalue}`);
            }
            const picked = pickEntities(run.locals, only, file);
            const sources = run.cells.sources as SourceSet | undefined;
            result = await remote.register(Object.fromEntries(picked.map(([name, e]) => [name, e])), { ...(sources ? { sources } : {}), ...version });
          } finally {
            run.close();
          }
        } else if ([".ts", ".mts", ".js", ".mjs"].includes(ext)) {
          const exports = await importModule(path);
          const picked = pickEntities(exports, only, file);
          // An array: buildBundle finds each entity's declaration in the file by its name.
          result = await remote.register(picked.map(([, e]) => e) as unknown as BundleRoots, { entry: path, ...version });
        } else {
          throw usage(`${file}: expected a .ts or .js module or an .ipynb notebook`);
        }
        await print(o.json === true, result, () => registrationText(remote, result));
      }),
    );
}

// ---------------------------------------------------------------- connect

function connectCommand(): Command {
  return command("connect", "Write the config file (endpoint, project, domain, token) that later commands use")
    .argument("<url>", "the backend's URL, e.g. http://127.0.0.1:8080")
    .option("--project <name>", "the default project")
    .option("--domain <name>", "the default domain")
    .option("--token <token>", "a bearer token (petrel server prints the admin token)")
    .option("--no-check", "write the file without checking that the backend answers")
    .option("--json", "print one JSON document on stdout, for scripts")
    .addHelpText("after", `\nThe file is PETREL_CONFIG, else ~/.petrel/config.json (readable by its owner only).\n${EXIT_CODES_HELP}`)
    .action(
      handler(async (cmd) => {
        const [endpoint] = cmd.processedArgs as [string];
        const o = cmd.opts<{ project?: string; domain?: string; token?: string; check: boolean; json?: boolean }>();
        const values = { endpoint, ...(o.project ? { project: o.project } : {}), ...(o.domain ? { domain: o.domain } : {}), ...(o.token ? { token: o.token } : {}) };
        const file = configFilePath();
        // Checked with the new values (and the environment), never the old file's: its token is for the old endpoint.
        const withoutOldFile = { ...values, configFile: join(tmpdir(), "petrel-connect", "no-config-file.json") };
        const config = resolveConfig(withoutOldFile);
        let user: string | undefined;
        if (o.check) user = (await new Remote(withoutOldFile).whoami()).name;
        writeConfigFile(values, file);
        const overridden = (["PETREL_ENDPOINT", "PETREL_PROJECT", "PETREL_DOMAIN", "PETREL_TOKEN"] as const).filter((v) => process.env[v]);
        if (overridden.length) await write(process.stderr, `petrel: note: ${overridden.join(", ")} ${overridden.length > 1 ? "are" : "is"} set and override${overridden.length > 1 ? "" : "s"} the config file\n`);
        const doc = { file, endpoint: config.endpoint, project: config.project, domain: config.domain, ...(user ? { user } : {}) };
        await print(o.json === true, doc, () => `${user ? `connected to ${config.endpoint} as ${user}` : `endpoint ${config.endpoint}`} (project ${config.project}, domain ${config.domain})\nwrote ${file}`);
      }),
    );
}

// ---------------------------------------------------------------- run

function runCommand(): Command {
  return remoteCommand("run", "Execute a workflow or launch plan on the backend with typed inputs", [
    "petrel run training --input rows=500 --input minAge=21 --wait",
    `petrel run nightly --launch-plan --inputs-json '{"day": "2026-01-31"}' --json`,
  ])
    .argument("<target>", "a workflow name (or a launch plan name with --launch-plan)")
    .option("--input <name=value>", "an input, parsed by its type: strings as written, dataframes from an .arrow or .csv file, the rest JSON (repeatable)", collect)
    .option("--inputs-json <json>", "inputs as one JSON object (--input values override it)")
    .option("--launch-plan", "the target is a launch plan")
    .option("--version <version>", "the workflow or launch plan version (default: the active launch plan, else the latest)")
    .option("--name <name>", "the execution's name (default: the server picks one)")
    .option("--label <key=value>", "a label on the execution (repeatable)", collect)
    .option("--overwrite-cache", "recompute cached nodes and overwrite their cache entries")
    .option("--wait", "wait until it finishes (progress on stderr); exit 1 if it did not succeed")
    .action(
      handler(async (cmd) => {
        const [name] = cmd.processedArgs as [string];
        const o = cmd.opts<
          ConnectionOptions & { input?: string[]; inputsJson?: string; launchPlan?: boolean; version?: string; name?: string; label?: string[]; overwriteCache?: boolean; wait?: boolean }
        >();
        const labels = Object.fromEntries(pairs(o.label ?? [], "--label"));
        const remote = remoteOf(o);
        let iface: Record<string, Variable>;
        if (o.launchPlan) {
          const lp = await remote.fetchLaunchPlan(name, o.version);
          iface = (await remote.fetchWorkflow(lp.spec.workflow.name, lp.spec.workflow.version)).spec.interface.inputs;
        } else {
          iface = (await remote.fetchWorkflow(name, o.version)).spec.interface.inputs;
        }
        const where = `${o.launchPlan ? "launch plan" : "workflow"} ${name}`;
        const inputs = await inputsOf(o, iface, where);
        const target = o.launchPlan ? { launchPlan: name, ...(o.version ? { version: o.version } : {}) } : { workflow: name, ...(o.version ? { version: o.version } : {}) };
        let execution = await remote.execute(target, inputs, {
          ...(Object.keys(labels).length ? { labels } : {}),
          ...(o.overwriteCache ? { overwriteCache: true } : {}),
          ...(o.name ? { name: o.name } : {}),
        });
        if (!o.wait) {
          await print(o.json === true, await executionJson(execution), () => `started execution ${execution.name} (${execution.workflow.name}@${shortVersion(execution.workflow.version)}): ${execution.phase}\n${execution.url}`);
          return;
        }
        execution = await waitFor(remote, execution);
        await finished(o.json === true, execution);
        return execution.phase === "SUCCEEDED" ? EXIT.OK : EXIT.NOT_SUCCEEDED;
      }),
    );
}

/** Prints a finished execution (and its outputs when it succeeded). */
async function finished(json: boolean, execution: RemoteExecution): Promise<void> {
  if (json) return print(true, await executionJson(execution), () => "");
  let text = executionText(execution);
  if (execution.phase === "SUCCEEDED") {
    const types = execution.spec && Object.fromEntries(Object.entries(execution.spec.interface.outputs).map(([k, v]) => [k, v.type]));
    if ((await execution.outputs.names()).length) text += `\n\noutputs:\n${await valuesText(execution.outputs, types)}`;
  }
  return print(false, undefined, () => text);
}

// ---------------------------------------------------------------- get

const KINDS: Record<string, { kind: ResourceType; label: string }> = {
  workflows: { kind: "workflow", label: "workflows" },
  tasks: { kind: "task", label: "tasks" },
  launchplans: { kind: "launch_plan", label: "launch plans" },
};

function getCommand(): Command {
  const get = command("get", "List executions, workflows, tasks or launch plans, or show one execution").addHelpText("after", EXIT_CODES_HELP);
  get.addCommand(
    remoteCommand("executions", "Recent executions, newest first")
      .option("--phase <phase>", `only these phases (comma-separated or repeated: ${EXECUTION_PHASES.join(", ")})`, collect)
      .option("--workflow <name>", "only executions of this workflow")
      .option("--launch-plan <name>", "only executions of this launch plan")
      .option("--label <key[=value]>", "only executions with this label (repeatable)", collect)
      .option("--limit <n>", `at most this many (default ${DEFAULT_LIST_LIMIT})`, wholeNumber(1))
      .action(
        handler(async (cmd) => {
          const o = cmd.opts<ConnectionOptions & { phase?: string[]; workflow?: string; launchPlan?: string; label?: string[]; limit?: number }>();
          const phases = (o.phase ?? []).flatMap((p) => p.split(",")).map((p) => p.trim().toUpperCase()).filter(Boolean);
          for (const p of phases) if (!(EXECUTION_PHASES as readonly string[]).includes(p)) throw usage(`--phase ${p}: expected one of ${EXECUTION_PHASES.join(", ")}`);
          const remote = remoteOf(o);
          const page = await remote.listExecutions({
            ...(phases.length ? { phase: phases } : {}),
            ...(o.workflow ? { workflow: o.workflow } : {}),
            ...(o.launchPlan ? { launchPlan: o.launchPlan } : {}),
            ...(o.label?.length ? { labels: o.label } : {}),
            limit: o.limit ?? DEFAULT_LIST_LIMIT,
          });
          const items = page.items.map((e) => ({ ...e, ...(e.inputs ? { inputs: plainLiterals(e.inputs) } : {}), ...(e.outputs ? { outputs: plainLiterals(e.outputs) } : {}) }));
          await print(o.json === true, items, () => {
            const rows = page.items.map((e) => {
              const ms = e.startedAt && e.endedAt ? Date.parse(e.endedAt) - Date.parse(e.startedAt) : undefined;
              return [e.name, e.launchPlan ? `${e.launchPlan.name} (plan)` : e.workflow.name, shortVersion(e.workflow.version), e.phase, when(e.createdAt), ms === undefined ? "" : formatDuration(ms)];
            });
            return rows.length ? textTable(["name", "workflow", "version", "phase", "created", "time"], rows) : `no executions in ${remote.project}/${remote.domain}`;
          });
        }),
      ),
  );
  get.addCommand(
    remoteCommand("execution", "One execution: its phase, nodes and error (--json adds inputs and outputs)")
      .argument("<id>", "the execution's name, or project/domain/name")
      .action(
        handler(async (cmd) => {
          const [id] = cmd.processedArgs as [string];
          const o = cmd.opts<ConnectionOptions>();
          const execution = await remoteOf(o).fetchExecution(id);
          await print(o.json === true, await executionJson(execution), () => executionText(execution));
        }),
      ),
  );
  for (const [name, { kind, label }] of Object.entries(KINDS)) {
    const sub = remoteCommand(name, `Registered ${label}, with their newest versions`)
      .option("--limit <n>", "at most this many", wholeNumber(1))
      .action(
        handler(async (cmd) => {
          const o = cmd.opts<ConnectionOptions & { limit?: number }>();
          const remote = remoteOf(o);
          const items = await remote.listEntities(kind, o.limit !== undefined ? { limit: o.limit } : {});
          await print(o.json === true, items, () =>
            items.length
              ? textTable(
                  ["name", "latest version", "versions", "updated"],
                  items.map((e) => [e.name, e.latestVersion, String(e.versions), when(e.updatedAt)]),
                )
              : `no ${label} in ${remote.project}/${remote.domain}`,
          );
        }),
      );
    if (name === "launchplans") sub.alias("launch-plans");
    get.addCommand(sub);
  }
  return get;
}

// ---------------------------------------------------------------- logs

const POLL_MS = 500;

function logsCommand(): Command {
  return remoteCommand("logs", "A node's stdout and stderr (of its last attempt, or --attempt n)")
    .argument("<execution>", "the execution's name, or project/domain/name")
    .argument("<node>", "the node's id")
    .option("--attempt <n>", "the attempt, counted from 0 (default: the last)", wholeNumber(0))
    .option("--follow", "keep printing as the attempt writes, until it ends")
    .action(
      handler(async (cmd) => {
        const [id, nodeId] = cmd.processedArgs as [string, string];
        const o = cmd.opts<ConnectionOptions & { attempt?: number; follow?: boolean }>();
        const remote = remoteOf(o);
        let execution = await remote.fetchExecution(id);
        // Following a node that has not started yet: wait for its first attempt.
        while (o.follow && !execution.done && !(Object.hasOwn(execution.nodes, nodeId) && execution.nodes[nodeId]!.attempts.length > (o.attempt ?? 0))) {
          await new Promise((r) => setTimeout(r, POLL_MS));
          execution = await remote.fetchExecution(execution.id);
        }
        const node = execution.node(nodeId);
        const attempt = o.attempt ?? node.attempts.length - 1;
        const options = { attempt };
        if (!o.follow) {
          const logs = await node.logs(options);
          await print(o.json === true, { execution: execution.name, node: node.id, attempt, logs }, () => logs);
          return;
        }
        let logs = "";
        for await (const chunk of node.followLogs(options)) {
          if (o.json) logs += chunk;
          else await write(process.stdout, chunk);
        }
        if (o.json) await print(true, { execution: execution.name, node: node.id, attempt, logs }, () => "");
      }),
    );
}

// ---------------------------------------------------------------- outputs

function outputsCommand(): Command {
  return remoteCommand("outputs", "An execution's (or a node's) outputs: scalars as a table, DataFrames as their first rows, or one DataFrame saved as Arrow", [
    "petrel outputs <execution> --node clean --name df --out clean.arrow",
  ])
    .argument("<execution>", "the execution's name, or project/domain/name")
    .option("--node <id>", "a node's outputs instead of the execution's")
    .option("--name <output>", "only this output")
    .option("--out <file>", "save a DataFrame output as an Arrow IPC stream file (with --name, unless there is only one)")
    .action(
      handler(async (cmd) => {
        const [id] = cmd.processedArgs as [string];
        const o = cmd.opts<ConnectionOptions & { node?: string; name?: string; out?: string }>();
        const execution = await remoteOf(o).fetchExecution(id);
        let values: Values;
        let types: Record<string, LiteralType> | undefined;
        if (o.node) {
          values = execution.node(o.node).outputs;
          types = execution.spec?.nodes.find((n) => n.id === o.node)?.outputs;
        } else {
          values = execution.outputs as Values;
          types = execution.spec && Object.fromEntries(Object.entries(execution.spec.interface.outputs).map(([k, v]) => [k, v.type]));
        }
        const literals = await values.literals();
        if (o.out) {
          let name = o.name;
          if (!name) {
            const frames = Object.entries(literals).filter(([, l]) => l.kind === "blob" && l.blob.format === "arrow");
            if (frames.length !== 1) throw usage(`--out: say which output with --name (${values.label} ${frames.length ? `have DataFrames ${frames.map(([k]) => k).join(", ")}` : "have no DataFrame"})`);
            name = frames[0]![0];
          }
          const df = await values.dataframe(name);
          const file = await df.save(resolvePath(o.out));
          const doc = { file, name, hash: df.hash, size: df.size };
          await print(o.json === true, doc, () => `wrote ${name} (${df.size} bytes, ${df.hash}) to ${file}`);
          return;
        }
        if (o.json) {
          if (o.name && !Object.hasOwn(literals, o.name)) await values.get(o.name); // NOT_FOUND, naming what exists
          const shown = o.name ? { [o.name]: literals[o.name]! } : literals;
          await print(true, plainLiterals(shown), () => "");
          return;
        }
        const text = await valuesText(values, types, o.name);
        await print(false, undefined, () => text);
      }),
    );
}

// ---------------------------------------------------------------- promote

async function confirm(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}

function promoteCommand(): Command {
  return remoteCommand("promote", "Promote one version of a workflow (and everything it uses) to another domain; nothing is rebuilt; shows the change first", [
    "petrel promote training sha256:… --to production --yes",
  ])
    .argument("<workflow>", "the workflow's name (a launch plan's with --launch-plan)")
    .argument("<version>", "the version to promote")
    .requiredOption("--to <domain>", "the domain to promote to, e.g. staging or production")
    .option("--from <domain>", "the domain it is in (default: --domain, PETREL_DOMAIN, …)")
    .option("--launch-plan", "promote a launch plan")
    .option("--yes", "do not ask before promoting (needed when stdin is not a terminal)")
    .option("--dry-run", "show what would change, and stop")
    .action(
      handler(async (cmd) => {
        const [name, version] = cmd.processedArgs as [string, string];
        const o = cmd.opts<ConnectionOptions & { to: string; from?: string; launchPlan?: boolean; yes?: boolean; dryRun?: boolean }>();
        const remote = remoteOf(o);
        const kind: ResourceType = o.launchPlan ? "launch_plan" : "workflow";
        const from = o.from ?? remote.domain;
        if (from === o.to) throw usage(`--to ${o.to} is the domain it is promoted from; promote to another domain`);
        const plan = await remote.planPromotion(kind, name, version, { to: o.to, from });
        const table = textTable(
          ["kind", "name", "version", `${o.to} now`, "change"],
          plan.map((c) => [c.resourceType, c.name, shortVersion(c.version), c.current ? shortVersion(c.current) : "—", c.change]),
        );
        const head = `promote ${name}@${version} from ${remote.project}/${from} to ${o.to}:`;
        const doc = { project: remote.project, from, to: o.to, kind, name, version, plan };
        if (!o.json) await write(process.stdout, `${head}\n${table}\n`);
        if (o.dryRun) {
          if (o.json) await print(true, doc, () => "");
          return;
        }
        if (!o.yes) {
          if (!process.stdin.isTTY) throw usage("promote: pass --yes to promote without a terminal to confirm at (or --dry-run to only see the plan)");
          if (!(await confirm(`promote to ${o.to}? [y/N] `))) {
            await write(process.stderr, "petrel: nothing promoted\n");
            return EXIT.NOT_SUCCEEDED;
          }
        }
        const result = await remote.promote({ kind, name }, version, { to: o.to, from });
        await print(o.json === true, { ...doc, ...result }, () => `promoted: ${result.promoted.length} registered in ${o.to}, ${result.alreadyPresent.length} already there`);
      }),
    );
}

// ---------------------------------------------------------------- terminate, relaunch, recover

function terminateCommand(): Command {
  return remoteCommand("terminate", "Terminate a running execution (it becomes ABORTED)")
    .argument("<execution>", "the execution's name, or project/domain/name")
    .option("--cause <text>", "why, recorded on the execution", "terminated from the command line")
    .action(
      handler(async (cmd) => {
        const [id] = cmd.processedArgs as [string];
        const o = cmd.opts<ConnectionOptions & { cause: string }>();
        const execution = await remoteOf(o).terminate(id, o.cause);
        await print(o.json === true, await executionJson(execution), () => `terminated execution ${execution.name}: ${execution.phase}`);
      }),
    );
}

/** relaunch and recover: a new execution, optionally waited for. */
function newExecutionCommand(name: "relaunch" | "recover", description: string): Command {
  const cmd = remoteCommand(name, description)
    .argument("<execution>", "the execution's name, or project/domain/name")
    .option("--name <name>", "the new execution's name (default: the server picks one)")
    .option("--wait", "wait until it finishes (progress on stderr); exit 1 if it did not succeed");
  if (name === "recover") cmd.option("--version <version>", "run this version of the workflow (nodes whose task version is unchanged are reused)");
  return cmd.action(
    handler(async (c) => {
      const [id] = c.processedArgs as [string];
      const o = c.opts<ConnectionOptions & { name?: string; wait?: boolean; version?: string }>();
      const remote = remoteOf(o);
      const options = { ...(o.name ? { name: o.name } : {}), ...(o.version ? { version: o.version } : {}) };
      let execution = name === "relaunch" ? await remote.relaunch(id, options) : await remote.recover(id, options);
      if (!o.wait) {
        await print(o.json === true, await executionJson(execution), () => `${name === "relaunch" ? "relaunched" : "recovered"} ${id} as execution ${execution.name}: ${execution.phase}\n${execution.url}`);
        return;
      }
      execution = await waitFor(remote, execution);
      await finished(o.json === true, execution);
      return execution.phase === "SUCCEEDED" ? EXIT.OK : EXIT.NOT_SUCCEEDED;
    }),
  );
}

/** The remote client's commands, for `petrel`'s program. */
export function remoteCommands(): Command[] {
  process.stdout.on("error", (e: NodeJS.ErrnoException) => {
    // `petrel get executions | head`: the reader left; nothing more to say.
    if (e.code === "EPIPE") process.exit(EXIT.OK);
  });
  return [
    connectCommand(),
    registerCommand(),
    runCommand(),
    getCommand(),
    logsCommand(),
    outputsCommand(),
    promoteCommand(),
    terminateCommand(),
    newExecutionCommand("relaunch", "Start a new execution of the same workflow version with the same inputs"),
    newExecutionCommand("recover", "Start a new execution that reuses the successful nodes of a failed one"),
  ];
}
