#!/usr/bin/env node
/**
 * The kernel's own entry, which the kernelspec runs: the Jupyter kernel with the
 * remote client's magics (%petrel connect, register, run-remote, promote, fetch),
 * loaded with the session so they cost nothing at start. The full `petrel`
 * command line is cli/petrel.ts.
 *
 * ```sh
 * node dist/cli/kernel.js kernel install [--user | --sys-prefix | --prefix P]
 * node dist/cli/kernel.js kernel --connection-file F
 * ```
 */
import { Command } from "commander";
import { kernelCommand, VERSIONS } from "../kernel/jupyter/index.js";

const program = new Command("petrel").description("Typed notebook-to-cluster pipelines in TypeScript.").version(VERSIONS.petrel);
program.addCommand(kernelCommand({ magics: async () => (await import("../remote/index.js")).kernelMagics() }));
await program.parseAsync(process.argv);
