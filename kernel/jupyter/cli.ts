#!/usr/bin/env node
/**
 * The kernel's own entry, which the kernelspec runs. The full `petrel` command line
 * (kernel and server) is cli/petrel.ts.
 *
 * ```sh
 * node dist/kernel/jupyter/cli.js kernel install [--user | --sys-prefix | --prefix P]
 * node dist/kernel/jupyter/cli.js kernel --connection-file F
 * ```
 */
import { Command } from "commander";
import { kernelCommand } from "./command.js";
import { VERSIONS } from "./versions.js";

const program = new Command("petrel").description("Typed notebook-to-cluster pipelines in TypeScript.").version(VERSIONS.petrel);
program.addCommand(kernelCommand());
await program.parseAsync(process.argv);
