// The warm worker over a real child_process.fork of the built runtime: one attempt
// at a time, the bundle loaded once, blobs straight from the shared blob root,
// printed output as ordered log messages, abort, per-attempt environment, and
// exit when the backend (its IPC channel) goes away.
import { fork, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { tableFromIPC } from "apache-arrow";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createFsBlobStore, type BlobAccess, type BlobRef, type LiteralMap } from "../../kernel/index.js";
import type { AttemptOutcome, WorkerReply, WorkerRequest } from "../../kernel/runtime/index.js";
import { arrowInput, assignmentFor, eventually, fixturesBundle, float, int, PROJECT_ROOT, projectDir, removeTempDirs, str, tempDir } from "./helpers.js";

const WORKER = join(PROJECT_ROOT, "dist", "kernel", "runtime", "worker.js");

beforeAll(() => {
  if (!existsSync(WORKER)) throw new Error(`${WORKER} does not exist: run \`npm run build\` first (npm test does).`);
});
afterAll(removeTempDirs);

interface Worker {
  child: ChildProcess;
  replies: WorkerReply[];
  blobs: BlobAccess;
  root: string;
  exited: Promise<number | null>;
  run(id: number, task: string, inputs: LiteralMap, env?: Record<string, string>): Promise<AttemptOutcome>;
}

const workers: ChildProcess[] = [];
afterEach(() => {
  for (const w of workers.splice(0)) if (w.exitCode === null) w.kill("SIGKILL");
});

async function startWorker(): Promise<Worker> {
  const root = tempDir("petrel-blob-root-");
  const blobs = createFsBlobStore(root);
  const bundle = fixturesBundle();
  blobs.put(bundle.bytes(), "file"); // the backend's blob store holds bundles by hash too
  const project = projectDir();
  const child = fork(WORKER, [], {
    cwd: project,
    env: { PATH: process.env.PATH ?? "", PETREL_BLOB_ROOT: root, PETREL_HOME: join(project, ".petrel") },
    execArgv: [],
    stdio: ["ignore", "pipe", "pipe", "ipc"],
  });
  workers.push(child);
  const replies: WorkerReply[] = [];
  child.on("message", (m: WorkerReply) => replies.push(m));
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  await eventually(`the worker to say ready (stderr: ${stderr})`, () => replies.some((r) => r.type === "ready"));
  return {
    child,
    replies,
    blobs,
    root,
    exited,
    async run(id, task, inputs, env) {
      const request: WorkerRequest = { type: "run", id, assignment: assignmentFor(task, bundle.hash), inputs, ...(env ? { env } : {}) };
      child.send(request);
      const result = await eventually(`the result of run ${id}`, () => replies.find((r): r is Extract<WorkerReply, { type: "result" }> => r.type === "result" && r.id === id));
      return result.outcome;
    },
  };
}

const outputsOf = (outcome: AttemptOutcome): LiteralMap => {
  if (outcome.phase !== "SUCCEEDED") throw new Error(`attempt failed: ${JSON.stringify(outcome.error)}`);
  return outcome.outputs;
};

describe("the warm worker", () => {
  it("says ready, then runs attempts one after another in one process with the bundle loaded once", async () => {
    const w = await startWorker();
    const ready = w.replies.find((r) => r.type === "ready")!;
    expect(ready).toEqual({ type: "ready", pid: w.child.pid });
    const runs: LiteralMap[] = [];
    for (let i = 1; i <= 3; i++) runs.push(outputsOf(await w.run(i, "whoami", { tag: str(`t${i}`) })));
    expect(runs).toEqual([1, 2, 3].map((n) => ({ pid: int(w.child.pid!), calls: int(n), tag: str(`t${n}`) })));
  });

  it("reads an Arrow input from the blob root and writes the output there", async () => {
    const w = await startWorker();
    const outputs = outputsOf(await w.run(1, "scale", { df: arrowInput(w.blobs), factor: float(10) }));
    expect(outputs.rows).toEqual(int(3));
    const ref = (outputs.df as { blob: BlobRef }).blob;
    expect(w.blobs.has(ref.hash)).toBe(true);
    expect([...tableFromIPC(createFsBlobStore(w.root).get(ref)).getChild("x")!.toArray()]).toEqual([15, 25, 35]);
  });

  it("sends what an attempt prints, stdout and stderr in order, before its result", async () => {
    const w = await startWorker();
    outputsOf(await w.run(7, "chat", { who: str("ops") }));
    const logs = w.replies.filter((r): r is Extract<WorkerReply, { type: "log" }> => r.type === "log");
    expect(logs.every((l) => l.id === 7)).toBe(true);
    expect(logs.map((l) => l.data).join("")).toBe("hello from ctx.log to ops\nhello from console.log to ops\na warning on stderr for ops\n");
    const order = w.replies.map((r) => r.type).filter((type) => type !== "ready");
    expect(order.at(-1)).toBe("result");
  });

  it("aborts the running attempt on request, then retires", async () => {
    const w = await startWorker();
    const running = w.run(3, "sleepy", { ms: int(30_000) });
    setTimeout(() => w.child.send({ type: "abort", id: 3, reason: "terminated" } satisfies WorkerRequest), 200);
    const outcome = await running;
    expect(outcome).toMatchObject({ phase: "FAILED", error: { kind: "system", code: "ATTEMPT_ABORTED", retryable: false } });
    expect(await w.exited).toBe(0);
  });

  it("sets a task's environment for its attempt only", async () => {
    const w = await startWorker();
    expect(outputsOf(await w.run(1, "read_env", { name: str("PETREL_FIXTURE_VALUE") }, { PETREL_FIXTURE_VALUE: "from the task" }))).toEqual({ value: str("from the task") });
    expect(outputsOf(await w.run(2, "read_env", { name: str("PETREL_FIXTURE_VALUE") }))).toEqual({ value: str("") });
  });

  it("exits when its IPC channel closes (the backend is gone)", async () => {
    const w = await startWorker();
    w.child.disconnect();
    expect(await w.exited).toBe(0);
  });
});
