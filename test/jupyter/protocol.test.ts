// The kernel at the protocol level, driven by jupyter_client and nbclient: large
// outputs, stop_on_error, interrupts, restarts, 400 cells, error positions, display
// updates, Petrel workflows with live progress: see protocol_tests.py.
import { describe, expect, it } from "vitest";
import { APT_HINT, IN_CI, installKernel, jupyterAvailable, runUnittest } from "./jupyter-env.js";

const available = jupyterAvailable();
if (!available && !IN_CI) console.log(`test/jupyter/protocol skipped: \`${APT_HINT}\` enables it`);

describe.skipIf(!available && !IN_CI)("the kernel under real Jupyter clients", () => {
  it("passes the protocol suite", async () => {
    if (!available) throw new Error(`CI runs the Jupyter suites: /usr/bin/python3 lacks Jupyter's clients; run ${APT_HINT}`);
    const { env } = installKernel();
    const { code, output } = await runUnittest("protocol_tests", env, 480_000);
    const figures = /^figures: .*$/m.exec(output);
    if (figures) console.log(figures[0]);
    expect(code, output).toBe(0);
    expect(output).toMatch(/^OK$/m);
  }, 540_000);
});
