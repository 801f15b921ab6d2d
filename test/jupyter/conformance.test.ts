// Jupyter's own kernel conformance suite (jupyter_kernel_test) against the Petrel
// kernel, started by jupyter_client from its kernelspec: see kernel_tests.py.
import { describe, expect, it } from "vitest";
import { APT_HINT, IN_CI, installKernel, jupyterAvailable, runUnittest } from "./jupyter-env.js";

const available = jupyterAvailable();
if (!available && !IN_CI) console.log(`test/jupyter/conformance skipped: \`${APT_HINT}\` enables it`);

describe.skipIf(!available && !IN_CI)("the Jupyter kernel conformance suite", () => {
  it("passes every test it has, with TypeScript samples", async () => {
    if (!available) throw new Error(`CI runs the Jupyter suites: /usr/bin/python3 lacks Jupyter's clients; run ${APT_HINT}`);
    const { env } = installKernel();
    const { code, output } = await runUnittest("kernel_tests", env, 240_000);
    expect(code, output).toBe(0);
    expect(output).toMatch(/^Ran \d+ tests/m);
    // Only test_pager may skip: the kernel has no pager.
    expect(output).toMatch(/^OK( \(skipped=1\))?$/m);
  }, 300_000);
});
