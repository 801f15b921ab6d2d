// The runtime's core, in this process, over an in-memory transport: a task from a
// real bundle, its inputs made local, its outputs published, and every way an
// attempt can end turned into the outcome the backend receives.
import { join } from "node:path";
import { tableFromIPC } from "apache-arrow";
import { afterAll, describe, expect, it } from "vitest";
import { createMemoryBlobStore, type BlobAccess, type BlobRef, type LiteralMap } from "../../kernel/index.js";
import { CappedLog, runAssignment, type AttemptAssignment, type AttemptOutcome, type RuntimeIO } from "../../kernel/runtime/index.js";
import { arrowInput, assignmentFor, fixturesBundle, float, int, projectDir, removeTempDirs, str, tempDir } from "./helpers.js";

afterAll(removeTempDirs);

interface Transport {
  io: RuntimeIO;
  /** The "backend's" blobs. */
  remote: BlobAccess;
  uploads: BlobRef[];
  checkpoints: BlobRef[];
  logs: string[];
}

function transport(inputs: LiteralMap | ((remote: BlobAccess) => LiteralMap), overrides: Partial<RuntimeIO> = {}): Transport {
  const remote = createMemoryBlobStore(tempDir("petrel-remote-"));
  const bundle = fixturesBundle();
  const t: Transport = { remote, uploads: [], checkpoints: [], logs: [], io: undefined as never };
  const resolved = typeof inputs === "function" ? inputs(remote) : inputs;
  t.io = {
    blobs: createMemoryBlobStore(tempDir("petrel-work-")),
    bundle: async (hash) => {
      expect(hash).toBe(bundle.hash);
      return bundle.bytes();
    },
    inputs: async () => resolved,
    fetchBlob: async (ref) => remote.get(ref),
    uploadBlob: async (ref, bytes) => {
      remote.put(bytes, ref.format, ref.filename);
      t.uploads.push(ref);
    },
    recordCheckpoint: async (ref) => {
      t.checkpoints.push(ref);
    },
    log: (line) => t.logs.push(line),
    ...overrides,
  };
  return t;
}

const bundleDir = () => join(projectDir(), ".petrel", "bundles");

async function run(task: string, t: Transport, overrides: Partial<AttemptAssignment> = {}, dir = bundleDir(), signal?: AbortSignal): Promise<AttemptOutcome> {
  return runAssignment(assignmentFor(task, fixturesBundle().hash, overrides), t.io, { bundleDir: dir, ...(signal ? { signal } : {}) });
}

function failure(outcome: AttemptOutcome) {
  if (outcome.phase === "SUCCEEDED") throw new Error(`expected a failure, got SUCCEEDED with ${JSON.stringify(outcome.outputs)}`);
  return outcome.error;
}

describe("runAssignment", () => {
  it("runs a bundled task on an Arrow DataFrame fetched as a blob, and uploads the DataFrame it returns", async () => {
    const t = transport((remote) => ({ df: arrowInput(remote), factor: float(2) }));
    const outcome = await run("scale", t);
    expect(outcome.phase).toBe("SUCCEEDED");
    const outputs = (outcome as { outputs: LiteralMap }).outputs;
    expect(outputs.rows).toEqual(int(3));
    const df = outputs.df!;
    expect(df).toMatchObject({ kind: "blob", blob: { format: "arrow" } });
    const ref = (df as { blob: BlobRef }).blob;
    expect(t.uploads.map((u) => u.hash)).toEqual([ref.hash]);
    const table = tableFromIPC(t.remote.get(ref));
    expect([...table.getChild("x")!.toArray()]).toEqual([3, 5, 7]);
    expect(table.getChild("name")!.toArray()).toEqual(["a", "b", "c"]);
  });

  it("reports a user error with the user's own stack, retryable", async () => {
    const error = failure(await run("boom", transport({ what: str("the parser") })));
    expect(error).toMatchObject({ kind: "user", code: "USER_ERROR", retryable: true, message: "boom: the parser went wrong in user code" });
    // The user's frames are the bundle module's (generated JS, where the task really ran).
    expect(error.stack).toMatch(/at explode \(.*\.petrel\/bundles\/[0-9a-f]+\.mjs:\d+:\d+\)/);
    expect(error.stack).not.toMatch(/kernel[/\\](runtime|local)/);
  });

  it("reports a NonRetryableError as a user error that retries cannot fix", async () => {
    const error = failure(await run("refuse", transport({ why: str("bad data") })));
    expect(error).toMatchObject({ kind: "user", code: "NON_RETRYABLE", retryable: false, message: "refused: bad data" });
  });

  it("ends an attempt past its timeout as TIMED_OUT, with the task's signal aborted", async () => {
    const started = Date.now();
    const outcome = await run("sleepy", transport({ ms: int(10_000) }), { timeoutMs: 200 });
    expect(outcome.phase).toBe("TIMED_OUT");
    expect(failure(outcome)).toMatchObject({ code: "TASK_TIMEOUT", retryable: true });
    expect(failure(outcome).message).toContain("timed out after 200 ms");
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("fails clearly and for good when a package the bundle imports is not installed", async () => {
    const error = failure(await run("add", transport({ a: int(1), b: int(2) }), {}, join(projectDir([]), ".petrel", "bundles")));
    expect(error).toMatchObject({ kind: "user", code: "PACKAGE_MISMATCH", retryable: false });
    expect(error.message).toContain("apache-arrow@21.2.0 is not installed");
    expect(error.message).toContain("npm install apache-arrow@21.2.0");
  });

  it("names the tasks a bundle holds when the assigned one is not among them", async () => {
    const error = failure(await run("nope", transport({})));
    expect(error).toMatchObject({ kind: "system", code: "TASK_NOT_FOUND", retryable: false });
    expect(error.message).toMatch(/task nope is not in bundle sha256:[0-9a-f]{64} \(it holds tasks .*add.*scale/);
  });

  it("reports infrastructure failures as retryable system errors naming what failed", async () => {
    const down = failure(await run("add", transport({}, { inputs: () => Promise.reject(new Error("connect ECONNREFUSED 127.0.0.1:9")) })));
    expect(down).toMatchObject({ kind: "system", code: "BACKEND_ERROR", retryable: true });
    expect(down.message).toBe("fetching the node's inputs: connect ECONNREFUSED 127.0.0.1:9");

    const garbled = transport((remote) => ({ df: arrowInput(remote), factor: float(1) }), { fetchBlob: async () => new Uint8Array([1, 2, 3]) });
    const error = failure(await run("scale", garbled));
    expect(error).toMatchObject({ kind: "system", code: "BLOB_INTEGRITY", retryable: true });
    expect(error.message).toMatch(/^input blob sha256:[0-9a-f]+: the bytes received hash to sha256:/);
  });

  it("uploads and records a checkpoint, which the next attempt reads", async () => {
    const first = transport({ label: str("nightly") });
    const dir = bundleDir();
    const failed = await run("resume", first, { maxAttempts: 2 }, dir);
    expect(failure(failed).message).toBe("failing after the checkpoint, to be resumed");
    expect(first.checkpoints).toHaveLength(1);
    const checkpoint = first.checkpoints[0]!;
    expect(first.uploads.map((u) => u.hash)).toEqual([checkpoint.hash]);

    const second = transport({ label: str("nightly") }, { fetchBlob: async (ref) => first.remote.get(ref) });
    const outcome = await run("resume", second, { attempt: 1, maxAttempts: 2, checkpoint }, dir);
    expect(outcome).toEqual({ phase: "SUCCEEDED", outputs: { seen: str("nightly: step-1 by attempt 1") } });
  });

  it("sends ctx.log lines to the transport", async () => {
    const t = transport({ who: str("you") });
    expect((await run("chat", t)).phase).toBe("SUCCEEDED");
    expect(t.logs).toEqual(["hello from ctx.log to you"]);
  });

  it("loads a bundle once per process and directory", async () => {
    const dir = bundleDir();
    const calls: string[] = [];
    for (const tag of ["one", "two"]) {
      const outcome = await run("whoami", transport({ tag: str(tag) }), {}, dir);
      if (outcome.phase !== "SUCCEEDED") throw new Error(JSON.stringify(outcome));
      calls.push(outcome.outputs.calls!.kind === "int" ? outcome.outputs.calls!.value : "?");
    }
    expect(calls).toEqual(["1", "2"]);
  });

  it("ends an aborted attempt at once as a system failure that is not retried", async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort("terminated by a test"), 100);
    const error = failure(await run("sleepy", transport({ ms: int(10_000) }), {}, bundleDir(), controller.signal));
    expect(error).toMatchObject({ kind: "system", code: "ATTEMPT_ABORTED", retryable: false });
    expect(error.message).toContain("terminated by a test");
  });
});

describe("CappedLog", () => {
  it("keeps the head up to the cap, then the tail, and says what it dropped", () => {
    const log = new CappedLog(10, 4);
    const kept: string[] = [];
    for (const chunk of ["0123", "4567", "89ab", "cdef", "ghij"]) {
      const k = log.admit(chunk);
      if (k !== undefined) kept.push(typeof k === "string" ? k : Buffer.from(k).toString());
    }
    expect(kept.join("")).toBe("0123456789");
    const end = Buffer.from(log.finish()!).toString();
    expect(end).toBe("\n[petrel] log capped at 10 bytes: 6 bytes dropped; the last 4 bytes follow\nghij");
    expect(new CappedLog(10).finish()).toBeUndefined();
  });
});
