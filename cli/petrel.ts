#!/usr/bin/env node
/**
 * The `petrel` command line: the Jupyter kernel and the backend server. It lives
 * outside kernel/ and backend/ because it is the one place that joins them.
 *
 * ```sh
 * petrel kernel install --user       # the Jupyter kernelspec "petrel"
 * petrel server [--db postgres://…]  # the backend on embedded defaults (SQLite, local blobs)
 * ```
 */
import { Command } from "commander";
import { serverCommand } from "../backend/index.js";
import { kernelCommand, VERSIONS } from "../kernel/jupyter/index.js";
import { remoteCommands } from "./remote.js";

const program = new Command("petrel").description("Typed notebook-to-cluster pipelines in TypeScript.").version(VERSIONS.petrel);
program.addCommand(kernelCommand({ magics: async () => (await import("../remote/index.js")).kernelMagics() }));
program.addCommand(serverCommand());
for (const c of remoteCommands()) program.addCommand(c);
await program.parseAsync(process.argv);
