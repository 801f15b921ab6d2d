// The kernel as JupyterLab uses it: started by jupyter-server, driven over its REST
// and WebSocket API by @jupyterlab/services. Every example notebook runs this way too,
// its kernel started in the notebook's folder.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { join } from "node:path";
import { KernelManager, ServerConnection, SessionManager, type Kernel, type KernelMessage } from "@jupyterlab/services";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { APT_HINT, IN_CI, installKernel, jupyterAvailable, PROJECT_ROOT } from "./jupyter-env.js";

const available = jupyterAvailable() && spawnSync("jupyter", ["server", "--version"], { stdio: "ignore" }).status === 0;
if (!available && !IN_CI) console.log(`test/jupyter/server skipped: \`${APT_HINT}\` enables it`);

const NOTEBOOKS = join(PROJECT_ROOT, "notebooks");
/** Node 20 has no global WebSocket; `ws` (untyped here) is the one @jupyterlab/services documents for Node. */
const WebSocket = createRequire(import.meta.url)("ws") as typeof globalThis.WebSocket;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer().listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
    probe.on("error", reject);
  });
}

/** Runs code; resolves with the reply's content and every iopub message but status. */
async function run(kernel: Kernel.IKernelConnection, code: string): Promise<{ reply: KernelMessage.IExecuteReplyMsg["content"]; iopub: KernelMessage.IIOPubMessage[] }> {
  const iopub: KernelMessage.IIOPubMessage[] = [];
  const future = kernel.requestExecute({ code });
  future.onIOPub = (m) => {
    if (m.header.msg_type !== "status") iopub.push(m);
  };
  const reply = await future.done;
  return { reply: reply.content, iopub };
}

describe.skipIf(!available && !IN_CI)("the kernel under jupyter-server and @jupyterlab/services", () => {
  let server: ChildProcess | undefined;
  let settings: ServerConnection.ISettings;

  beforeAll(async () => {
    if (!available) throw new Error(`CI runs the Jupyter suites: jupyter-server or Jupyter's clients are missing; run ${APT_HINT}`);
    const { env } = installKernel();
    const port = await freePort();
    const token = `petrel-${process.pid}-${port}`;
    server = spawn(
      "jupyter",
      ["server", "--no-browser", "--allow-root", "--ip=127.0.0.1", `--port=${port}`, "--ServerApp.port_retries=0", `--ServerApp.token=${token}`, `--ServerApp.root_dir=${NOTEBOOKS}`],
      { env, stdio: "ignore" },
    );
    const base = `http://127.0.0.1:${port}/`;
    for (let i = 0; i < 300; i++) {
      const up = await fetch(`${base}api/status?token=${token}`).then((r) => r.ok, () => false);
      if (up) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    settings = ServerConnection.makeSettings({ baseUrl: base, wsUrl: `ws://127.0.0.1:${port}/`, token, appendToken: true, WebSocket });
  }, 60_000);

  afterAll(async () => {
    if (!server || server.exitCode !== null) return;
    // jupyter-server shuts its kernels down on SIGTERM; wait for it.
    const exited = new Promise((resolve) => server!.once("exit", resolve));
    server.kill("SIGTERM");
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 10_000))]);
  }, 15_000);

  it("answers, displays, updates displays in place and survives an interrupt", async () => {
    const manager = new KernelManager({ serverSettings: settings });
    const kernel = await manager.startNew({ name: "petrel" });
    try {
      expect((await kernel.info).implementation).toBe("petrel");
      const result = await run(kernel, "6 * 7");
      expect(result.iopub.map((m) => m.header.msg_type)).toEqual(["execute_input", "execute_result"]);
      expect((result.iopub[1]!.content as { data: Record<string, unknown> }).data["text/plain"]).toBe("42");

      const shown = await run(kernel, 'const h = display.html("<i>a</i>"); h.html("<b>b</b>");');
      expect(shown.iopub.map((m) => m.header.msg_type)).toEqual(["execute_input", "display_data", "update_display_data"]);

      const waiting = kernel.requestExecute({ code: "await new Promise(() => {})" });
      setTimeout(() => void kernel.interrupt(), 1000);
      expect(((await waiting.done).content as { ename?: string }).ename).toBe("Interrupted");
      expect((await run(kernel, "h.id.length")).reply.status).toBe("ok");
    } finally {
      await kernel.shutdown();
      manager.dispose();
    }
  }, 120_000);

  it("runs every example notebook without an error, in the notebook's folder", async () => {
    const sessions = new SessionManager({ serverSettings: settings, kernelManager: new KernelManager({ serverSettings: settings }) });
    for (const file of readdirSync(NOTEBOOKS).filter((f) => f.endsWith(".ipynb"))) {
      const nb = JSON.parse(readFileSync(join(NOTEBOOKS, file), "utf8")) as { cells: { cell_type: string; source: string | string[] }[] };
      const session = await sessions.startNew({ path: file, type: "notebook", name: file, kernel: { name: "petrel" } });
      try {
        for (const cell of nb.cells.filter((c) => c.cell_type === "code")) {
          const code = Array.isArray(cell.source) ? cell.source.join("") : cell.source;
          const { reply, iopub } = await run(session.kernel!, code);
          const errors = iopub.filter((m) => m.header.msg_type === "error").map((m) => JSON.stringify(m.content));
          expect({ file, code, status: reply.status, errors }).toEqual({ file, code, status: "ok", errors: [] });
        }
      } finally {
        await session.shutdown();
      }
    }
    sessions.dispose();
  }, 300_000);
});
