/**
 * `petrel kernel`: the Jupyter kernel's commands, shared by this entry (what the
 * kernelspec runs) and the full `petrel` command line.
 */
import { Command } from "commander";
import { startKernel } from "./kernel.js";
import type { MagicExtension } from "./magics.js";
import { DISPLAY_NAME, installKernelSpec, KERNEL_NAME } from "./kernelspec.js";

/** Options of {@link kernelCommand}. */
export interface KernelCommandOptions {
  /** `%petrel` subcommands that libraries add, loaded with the session. */
  magics?: () => Promise<readonly MagicExtension[]>;
}

/** The `kernel` command with its `install` subcommand. */
export function kernelCommand(commandOptions: KernelCommandOptions = {}): Command {
  const kernel = new Command("kernel")
    .description("Run the Jupyter kernel (Jupyter starts it from the kernelspec), or install its kernelspec")
    .option("--connection-file <file>", "the connection file Jupyter wrote for this kernel")
    .action(async (options: { connectionFile?: string }) => {
      const connectionFile = options.connectionFile;
      if (!connectionFile) return kernel.error("petrel kernel: --connection-file is required (or use `petrel kernel install`)");
      const running = await startKernel({ connectionFile, ...(commandOptions.magics ? { magics: commandOptions.magics } : {}) });
      await running.stopped;
      process.exit(0);
    });

  kernel
    .command("install")
    .description(`Install the kernelspec "${KERNEL_NAME}" (${DISPLAY_NAME}); default: the user's Jupyter data directory`)
    .option("--user", "install in the user's Jupyter data directory")
    .option("--sys-prefix", "install in the sys.prefix of --python (a virtualenv or conda environment)")
    .option("--prefix <dir>", "install in <dir>/share/jupyter/kernels")
    .option("--python <python>", "the Python whose sys.prefix --sys-prefix uses", "python3")
    .option("--name <name>", "the kernelspec's name", KERNEL_NAME)
    .option("--display-name <name>", "the name notebooks show", DISPLAY_NAME)
    .action((options: { user?: boolean; sysPrefix?: boolean; prefix?: string; python: string; name: string; displayName: string }) => {
      const dir = installKernelSpec(options);
      console.log(`Installed kernelspec ${options.name} in ${dir}`);
    });
  return kernel;
}
