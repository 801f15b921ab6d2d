/**
 * Runs the Python peer (bench/dask_peer.py) with Debian's /usr/bin/python3, which
 * has python3-dask, and parses the JSON it prints. The script stays in the
 * source tree; from dist/bench/ it is found at ../../bench/dask_peer.py.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { progress } from "./harness.js";

/** The interpreter that has Dask (the first python3 on PATH does not). */
export const PYTHON = process.env.PETREL_BENCH_PYTHON ?? "/usr/bin/python3";

/** One timed figure from the peer. */
export interface PeerSample {
  median_ms: number;
  samples_ms: number[];
  n?: number;
  version?: string;
  skipped?: string;
}

/** The peer's JSON: named samples plus version strings. */
export type PeerOutput = Record<string, PeerSample | string | number | undefined> & { dask?: string; python?: string };

/** The peer failed or is missing; suites print the reason in place of its figures. */
export class PeerUnavailableError extends Error {
  override readonly name = "PeerUnavailableError";
}

/** Where dask_peer.py is, whether running from bench/ (tsx) or dist/bench/ (compiled). */
export function peerScriptPath(): string {
  const candidates = [
    fileURLToPath(new URL("../../bench/dask_peer.py", import.meta.url)),
    fileURLToPath(new URL("./dask_peer.py", import.meta.url)),
  ];
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new PeerUnavailableError(`dask_peer.py not found (looked at ${candidates.join(", ")})`);
  return found;
}

/** Runs `dask_peer.py <args>`, streaming its progress to stderr, and returns its JSON. */
export function runDaskPeer(suite: string, args: string[]): Promise<PeerOutput> {
  const script = peerScriptPath();
  progress(suite, `running ${PYTHON} ${script} ${args.join(" ")}`);
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, [script, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      err += d;
      process.stderr.write(d);
    });
    child.on("error", (e) => reject(new PeerUnavailableError(`cannot start ${PYTHON}: ${e.message}`)));
    child.on("close", (code) => {
      if (code !== 0) {
        const last = err.trim().split("\n").slice(-3).join(" | ");
        reject(new PeerUnavailableError(`dask_peer.py ${args[0]} exited with ${code}: ${last}`));
        return;
      }
      try {
        resolve(JSON.parse(out) as PeerOutput);
      } catch (e) {
        reject(new PeerUnavailableError(`dask_peer.py printed no JSON: ${(e as Error).message}`));
      }
    });
  });
}

/** A named sample of the peer's output, or undefined when absent or skipped. */
export function peerSample(out: PeerOutput | undefined, name: string): PeerSample | undefined {
  const s = out?.[name];
  if (typeof s !== "object" || s === null || s.skipped !== undefined) return undefined;
  return s;
}
