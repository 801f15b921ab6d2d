#!/usr/bin/env node
/**
 * The `petrel` command line: the Jupyter kernel, the backend server, the remote
 * client's commands and schedules. It lives outside kernel/, remote/ and backend/
 * because it is the one place that joins them.
 *
 * ```sh
 * petrel kernel install --user       # the Jupyter kernelspec "petrel"
 * petrel server [--db postgres://…]  # the backend on embedded defaults (SQLite, local blobs)
 * petrel run training --input rows=500 --wait
 * petrel schedule nightly_report --cron "0 2 * * *" --activate
 * ```
 */
import { Command } from "commander";
import { kernelCommand, VERSIONS } from "../kernel/jupyter/index.js";
import { remoteCommands } from "./remote.js";
import { scheduleCommand } from "./schedule.js";

// Subcommand options win over the root's (`petrel register f.ts --version v2` is the bundle's version).
const program = new Command("petrel").enablePositionalOptions().description("Typed notebook-to-cluster pipelines in TypeScript.").version(VERSIONS.petrel);
program.addCommand(kernelCommand({ magics: async () => (await import("../remote/index.js")).kernelMagics() }));
// The backend loads only for `petrel server`: every other command starts without it.
if (process.argv[2] === "server") program.addCommand((await import("../backend/index.js")).serverCommand());
else program.command("server").description("Start the Petrel backend (petrel server --help lists its options)");
for (const c of remoteCommands()) program.addCommand(c);
program.addCommand(scheduleCommand());
await program.parseAsync(process.argv);
