// The kernel's public building blocks, in-process: the wire format, rendering and
// the kernelspec. The protocol suites (conformance.test.ts, protocol.test.ts) drive
// the running kernel.
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inflateSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { t, task, workflow } from "../../kernel/index.js";
import {
  createHeader,
  decodeMessage,
  encodeMessage,
  installKernelSpec,
  kernelSpec,
  Outbox,
  renderDagSvg,
  Signer,
  toMimeBundle,
  WireError,
  type Message,
} from "../../kernel/jupyter/index.js";

function message(content: Record<string, unknown>): Message {
  return { identities: [Buffer.from("client-1")], header: createHeader("execute_request", "s1"), parent_header: {}, metadata: {}, content, buffers: [] };
}

describe("the wire format", () => {
  const signer = new Signer("secret");

  it("round-trips a signed message with its routing identities", () => {
    const sent = message({ code: "1 + 1" });
    const got = decodeMessage(encodeMessage(sent, signer), signer);
    expect(got.identities.map(String)).toEqual(["client-1"]);
    expect(got.header).toEqual(sent.header);
    expect(got.content).toEqual({ code: "1 + 1" });
  });

  it("rejects a message whose content was altered after signing", () => {
    const frames = encodeMessage(message({ code: "1" }), signer);
    frames[frames.length - 1] = Buffer.from(JSON.stringify({ code: "2" }));
    expect(() => decodeMessage(frames, signer)).toThrow(WireError);
  });

  it("rejects a message signed with another key", () => {
    expect(() => decodeMessage(encodeMessage(message({}), new Signer("other")), signer)).toThrow(/invalid signature/);
  });

  it("accepts unsigned messages when the connection has no key", () => {
    const none = new Signer("");
    expect(decodeMessage(encodeMessage(message({ a: 1 }), none), none).content).toEqual({ a: 1 });
  });
});

describe("the outbox", () => {
  /** A socket that records what it was handed; `hold` keeps each send pending until `release()`. */
  function socket(hold = false) {
    const sent: string[] = [];
    const waiting: (() => void)[] = [];
    return {
      sent,
      release: () => waiting.shift()?.(),
      send(frames: Buffer[]): Promise<void> {
        sent.push(frames.map(String).join("|"));
        return hold ? new Promise<void>((resolve) => waiting.push(resolve)) : Promise.resolve();
      },
    };
  }

  it("hands a message to its socket inside send() when nothing else is being sent", async () => {
    const outbox = new Outbox(() => undefined);
    const s = socket();
    const sent = outbox.send(s, [Buffer.from("busy")]);
    expect(s.sent).toEqual(["busy"]);
    expect(await sent).toBe(true);
    await outbox.drained();
    void outbox.send(s, [Buffer.from("idle")]);
    expect(s.sent).toEqual(["busy", "idle"]);
  });

  it("starts each send only after the one before settled, in order, across sockets", async () => {
    const outbox = new Outbox(() => undefined);
    const slow = socket(true);
    const fast = socket();
    const first = outbox.send(slow, [Buffer.from("a")]);
    const second = outbox.send(fast, [Buffer.from("b")]);
    const third = outbox.send(slow, [Buffer.from("c")]);
    await new Promise((r) => setImmediate(r));
    expect([slow.sent, fast.sent, outbox.size]).toEqual([["a"], [], 3]);
    slow.release();
    await second;
    expect(fast.sent).toEqual(["b"]);
    await new Promise((r) => setImmediate(r));
    expect(slow.sent).toEqual(["a", "c"]);
    slow.release();
    expect(await Promise.all([first, second, third])).toEqual([true, true, true]);
    expect(outbox.size).toBe(0);
  });

  it("reports a refused send and goes on with the next", async () => {
    const errors: string[] = [];
    const outbox = new Outbox((e) => errors.push((e as Error).message));
    const s = socket();
    const closed = {
      send(): Promise<void> {
        throw new Error("Socket is closed");
      },
    };
    const rejecting = { send: () => Promise.reject(new Error("EAGAIN")) };
    const results = await Promise.all([outbox.send(closed, []), outbox.send(rejecting, []), outbox.send(s, [Buffer.from("after")])]);
    expect(results).toEqual([false, false, true]);
    expect(errors).toEqual(["Socket is closed", "EAGAIN"]);
    expect(s.sent).toEqual(["after"]);
  });
});

describe("rendering", () => {
  const add = task({ name: "add", inputs: { a: t.int() }, outputs: { b: t.int() } }, ({ a }) => ({ b: a + 1 }));
  const chain = workflow({ name: "chain", inputs: { x: t.int() }, outputs: { y: t.int() } }, ({ x }) => {
    const first = add({ a: x });
    const second = add({ a: first.b });
    return { y: add({ a: second.b }).b };
  });

  it("draws a workflow's nodes in layers by depth, with an edge per upstream node", () => {
    const svg = renderDagSvg(chain.spec);
    const ys = [...svg.matchAll(/<rect x="[\d.]+" y="([\d.]+)"/g)].map((m) => Number(m[1]));
    expect(ys).toHaveLength(3);
    expect(new Set(ys).size).toBe(3);
    expect(svg.match(/marker-end=/g)).toHaveLength(2);
  });

  it("renders workflows as SVG, objects with a display method as their bundle, the rest as text", async () => {
    expect(Object.keys(await toMimeBundle(chain))).toEqual(["image/svg+xml", "text/plain"]);
    expect(await toMimeBundle({ [Symbol.for("Jupyter.display")]: () => ({ "text/html": "<i>x</i>" }) })).toMatchObject({ "text/html": "<i>x</i>" });
    expect(await toMimeBundle({ [Symbol.for("Jupyter.display")]: async () => ({ "text/markdown": "*x*" }) })).toMatchObject({ "text/markdown": "*x*" });
    expect(await toMimeBundle([1, 2])).toEqual({ "text/plain": "[ 1, 2 ]" });
  });

  it("shows the first 20 rows of a table, escaped", async () => {
    const { tableFromArrays } = await import("apache-arrow");
    const bundle = await toMimeBundle(tableFromArrays({ s: ["<script>", ...Array.from({ length: 30 }, (_, i) => `row ${i}`)] }));
    const html = String(bundle["text/html"]);
    expect(html).toContain("&#60;script&#62;");
    expect(html).not.toContain("<script>");
    expect(html.match(/<tr><th>\d+<\/th>/g)).toHaveLength(20);
    expect(String(bundle["text/plain"])).toMatch(/^Arrow Table: 31 rows × 1 column \(first 20 shown\)/);
  });
});

describe("the kernelspec", () => {
  it("starts this Node on the built CLI with the connection file, interrupted by signal", () => {
    const spec = kernelSpec();
    expect(spec.argv[0]).toBe(process.execPath);
    expect(spec.argv.slice(1)).toEqual([
      "--always-sparkplug",
      "--no-lazy-feedback-allocation",
      "--no-allocation-site-pretenuring",
      expect.stringMatching(/^--interrupt-budget=\d+$/),
      expect.stringMatching(/cli\/kernel\.js$/),
      "kernel",
      "--connection-file",
      "{connection_file}",
    ]);
    expect(spec).toMatchObject({ display_name: "TypeScript (Petrel)", language: "typescript", interrupt_mode: "signal" });
  });

  it("installs under a prefix with both logos as PNGs of their size", () => {
    const prefix = mkdtempSync(join(tmpdir(), "petrel-spec-"));
    const dir = installKernelSpec({ prefix });
    expect(dir).toBe(join(prefix, "share", "jupyter", "kernels", "petrel"));
    expect(JSON.parse(readFileSync(join(dir, "kernel.json"), "utf8"))).toMatchObject({ language: "typescript" });
    for (const size of [32, 64]) {
      const png = readFileSync(join(dir, `logo-${size}x${size}.png`));
      expect(png.subarray(1, 4).toString()).toBe("PNG");
      expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([size, size]);
      const idat = png.indexOf("IDAT");
      expect(inflateSync(png.subarray(idat + 4, idat + 4 + png.readUInt32BE(idat - 4))).length).toBe((size * 4 + 1) * size);
    }
  });

  it("refuses two install locations at once", () => {
    expect(() => installKernelSpec({ user: true, prefix: "/tmp/x" })).toThrow(/one of --user, --sys-prefix and --prefix/);
  });
});
