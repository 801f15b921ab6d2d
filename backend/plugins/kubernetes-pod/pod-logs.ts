/**
 * Pod logs through the API: a read (all, capped, or the tail) with
 * `readNamespacedPodLog`, or a follow stream with the client's `Log` helper; once
 * the pod is gone, the copy saved before it was deleted, if any.
 */
import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { PassThrough } from "node:stream";
import { Log, type CoreV1Api, type KubeConfig } from "@kubernetes/client-node";
import { readLogFile } from "../logs.js";
import type { LogReadOptions } from "../types.js";
import { apiFailure } from "./api-errors.js";
import { CONTAINER_NAME } from "./names.js";
import { sleep } from "../logs.js";

/** Lines asked for per tail byte wanted: logs lines are rarely shorter than this on average. */
const BYTES_PER_LINE_ESTIMATE = 16;
/** While following a container that has not started yet, look again this often. */
const START_POLL_MS = 500;

const encoder = new TextEncoder();

/** Where a pod is and what the runner knows about it. */
export interface PodLogSource {
  api: CoreV1Api;
  kubeConfig: KubeConfig;
  namespace: string;
  pod: string;
  /** The saved copy of the log (written before the pod was deleted), if the runner keeps them. */
  archive: string | undefined;
  /** Whether the attempt still runs (so a follower waits for its container to start). */
  running: () => boolean;
  /** Most bytes a whole-log read returns. */
  maxBytes: number;
}

/** The last `tailBytes` of a text, as bytes. */
function tailOf(text: string, tailBytes: number | undefined): Uint8Array {
  const bytes = encoder.encode(text);
  return tailBytes !== undefined && bytes.length > tailBytes ? bytes.subarray(bytes.length - tailBytes) : bytes;
}

/** `tailLines` for a byte tail: enough lines to hold it, trimmed to the bytes afterwards. */
const tailLinesFor = (tailBytes: number) => Math.max(1, Math.ceil(tailBytes / BYTES_PER_LINE_ESTIMATE));

/** The container cannot give logs yet (still creating, pulling its image). */
const notStarted = (status: number | undefined, message: string) => status === 400 && /waiting to start|ContainerCreating|PodInitializing|is not available/i.test(message);

/** A pod's log as a byte stream. */
export async function* readPodLog(source: PodLogSource, options: LogReadOptions = {}): AsyncGenerator<Uint8Array> {
  const { signal } = options;
  for (;;) {
    if (signal?.aborted) return;
    try {
      if (options.follow) {
        yield* followPodLog(source, options);
        return;
      }
      const text = await source.api.readNamespacedPodLog({
        name: source.pod,
        namespace: source.namespace,
        container: CONTAINER_NAME,
        ...(options.tailBytes !== undefined ? { tailLines: tailLinesFor(options.tailBytes) } : { limitBytes: source.maxBytes }),
      });
      const bytes = tailOf(String(text ?? ""), options.tailBytes);
      if (bytes.length > 0) yield bytes;
      return;
    } catch (e) {
      const failure = apiFailure(e);
      const missing = failure.status === 404;
      // Followed while the attempt runs: its pod may still be queued or starting, so wait for it.
      // (The Log helper drops the Status body of a 400: while the attempt runs, a 400 means its container is not up yet.)
      if (options.follow && (missing || failure.status === 400) && source.running()) {
        await sleep(START_POLL_MS, signal);
        continue;
      }
      if (missing || notStarted(failure.status, failure.message)) {
        if (source.archive && existsSync(source.archive)) {
          yield* readLogFile(source.archive, { ...options, follow: false }, () => false);
          return;
        }
        const pod = `pod ${source.namespace}/${source.pod}`;
        const why = !missing ? `the container of ${pod} has not started yet` : source.running() ? `${pod} has not been created yet (the attempt is queued)` : `${pod} no longer exists, and its log was not kept`;
        yield encoder.encode(`[petrel] ${why}\n`);
        return;
      }
      throw new Error(`reading the log of pod ${source.namespace}/${source.pod} failed: ${failure.status ?? ""} ${failure.message}`.replace(/ {2,}/g, " "));
    }
  }
}

/** Streams a running container's log until it ends (or the signal fires). */
async function* followPodLog(source: PodLogSource, options: LogReadOptions): AsyncGenerator<Uint8Array> {
  const stream = new PassThrough();
  const controller = await new Log(source.kubeConfig).log(source.namespace, source.pod, CONTAINER_NAME, stream, {
    follow: true,
    ...(options.tailBytes !== undefined ? { tailLines: tailLinesFor(options.tailBytes) } : {}),
  });
  const stop = () => {
    controller.abort();
    stream.end();
  };
  options.signal?.addEventListener("abort", stop, { once: true });
  try {
    // A byte tail of a follow is approximate: the lines that hold about that many bytes.
    for await (const chunk of stream) yield new Uint8Array(chunk as Buffer);
  } finally {
    options.signal?.removeEventListener("abort", stop);
    controller.abort();
  }
}

/** Saves the pod's log (at most `maxBytes`, its end) to `path`; resolves with whether there was one. */
export async function archivePodLog(api: CoreV1Api, namespace: string, pod: string, path: string, maxBytes: number): Promise<boolean> {
  let text: string;
  try {
    text = String((await api.readNamespacedPodLog({ name: pod, namespace, container: CONTAINER_NAME, limitBytes: maxBytes })) ?? "");
  } catch (e) {
    const failure = apiFailure(e);
    if (failure.status === 404 || failure.status === 400) return false;
    throw e;
  }
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, text);
  return true;
}

