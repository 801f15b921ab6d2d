/**
 * Suite "dataframe": moving a 1e6-row x 4-column DataFrame (int, float,
 * string, bool) across a node boundary. danfo -> Arrow IPC (encodeIPC of a
 * danfo DataFrame, what a task output costs), Arrow IPC -> danfo
 * (tableToDanfo(decodeIPC(bytes)), what a danfo task input costs), and
 * decodeIPC alone (what an Arrow task input costs) as throughput against a
 * plain memcpy of the same bytes. Peers: apache-arrow used directly, and
 * pandas <-> pyarrow when pyarrow is installed.
 */
import { tableFromIPC, tableToIPC } from "apache-arrow";
import { decodeIPC, encodeIPC, tableToDanfo } from "../kernel/index.js";
import { runDaskPeer, peerSample, type PeerOutput } from "./dask-peer.js";
import { arrowTableByHand, arrowTableOf, danfoDataFrame, makeColumns, ROWS } from "./data.js";
import { DIRECTION, measure, measureLoop, progress, type BenchOptions, type Row, type Suite, type SuiteResult } from "./harness.js";

/** The goal for each conversion, in ms. */
export const GOAL_CONVERT_MS = 300;
/** The goal for decodeIPC throughput, in GB/s. */
export const GOAL_DECODE_GBPS = 1;
/** Decodes per timed loop: one decode is a few ms, too short to time alone. */
const DECODES_PER_LOOP = 20;

interface DanfoLike {
  shape: [number, number];
}

export const dataframeSuite: Suite = {
  name: "dataframe",
  title: `dataframe: ${ROWS.toLocaleString("en")} rows x 4 columns (int, float, string, bool)`,
  async run(options: BenchOptions): Promise<SuiteResult> {
    const name = "dataframe";
    const quick = options.quick;
    const notes: string[] = [];
    const rows: Row[] = [];
    const convertGoal = { value: GOAL_CONVERT_MS, direction: DIRECTION.lower };

    progress(name, `building ${ROWS} rows of JS columns`);
    const cols = makeColumns();
    progress(name, "loading danfo (TensorFlow.js behind it takes seconds)");
    const DataFrame = danfoDataFrame();
    const t0 = performance.now();
    const df = new DataFrame({ id: cols.id, value: cols.value, name: cols.name, flag: cols.flag });
    const danfoCtorMs = performance.now() - t0;
    progress(name, `danfo DataFrame built in ${danfoCtorMs.toFixed(0)} ms`);

    // danfo -> Arrow IPC
    let bytes: Uint8Array = new Uint8Array(0);
    const encode = await measure(name, () => (bytes = encodeIPC(df)), { label: "petrel encodeIPC(danfo)", reps: quick ? 3 : 5 });
    const mb = bytes.byteLength / 1e6;
    let byHand: number | undefined;
    let builders: number | undefined;
    if (options.peer) {
      byHand = (
        await measure(name, () => tableToIPC(arrowTableByHand(cols), "stream"), {
          label: "peer apache-arrow makeData + tableToIPC",
          reps: quick ? 3 : 5,
        })
      ).median;
      builders = (
        await measure(name, () => tableToIPC(arrowTableOf(cols), "stream"), {
          label: "peer apache-arrow vectorFromArray + tableToIPC (slow builders)",
          reps: 3,
          warmup: 0,
        })
      ).median;
    }
    rows.push(
      { metric: "danfo -> Arrow IPC", unit: "ms", petrel: encode.median, peerName: "JS arrays -> apache-arrow makeData -> IPC", ...(byHand !== undefined ? { peer: byHand } : {}), goal: convertGoal },
      { metric: "danfo -> Arrow IPC", unit: "ms", petrel: encode.median, peerName: "JS arrays -> apache-arrow vectorFromArray -> IPC", ...(builders !== undefined ? { peer: builders } : {}), goal: convertGoal },
    );

    // Arrow IPC -> danfo
    let back: DanfoLike | undefined;
    const toDanfo = await measure(name, () => (back = tableToDanfo(decodeIPC(bytes)) as DanfoLike), {
      label: "petrel tableToDanfo(decodeIPC(bytes))",
      reps: 3,
    });
    if (back?.shape[0] !== ROWS || back.shape[1] !== 4) throw new Error(`tableToDanfo gave shape ${String(back?.shape)}`);
    back = undefined;
    let toArrays: number | undefined;
    let naive: number | undefined;
    if (options.peer) {
      const arraysOf = () => {
        const table = tableFromIPC(bytes);
        return Object.fromEntries(table.schema.fields.map((f, j) => [f.name, table.getChildAt(j)!.toArray() as unknown]));
      };
      toArrays = (await measure(name, arraysOf, { label: "peer tableFromIPC + Vector#toArray per column", reps: 3 })).median;
      naive = (
        await measure(
          name,
          () => {
            const c = arraysOf();
            const ids = Array.from(c.id as BigInt64Array, Number);
            return new DataFrame({ id: ids, value: Array.from(c.value as Float64Array), name: c.name as unknown[], flag: c.flag as unknown[] });
          },
          { label: "peer tableFromIPC + toArray + new dfd.DataFrame", reps: 3, warmup: 0 },
        )
      ).median;
    }
    rows.push(
      { metric: "Arrow IPC -> danfo", unit: "ms", petrel: toDanfo.median, peerName: "apache-arrow tableFromIPC + toArray (no danfo)", ...(toArrays !== undefined ? { peer: toArrays } : {}), goal: convertGoal },
      { metric: "Arrow IPC -> danfo", unit: "ms", petrel: toDanfo.median, peerName: "tableFromIPC + toArray + new dfd.DataFrame", ...(naive !== undefined ? { peer: naive } : {}), goal: convertGoal },
    );

    // decodeIPC throughput against memcpy and raw tableFromIPC
    const gbps = (usPerCall: number) => bytes.byteLength / (usPerCall * 1e-6) / 1e9;
    const decode = await measureLoop(name, DECODES_PER_LOOP, () => decodeIPC(bytes), { label: `petrel decodeIPC x${DECODES_PER_LOOP}`, reps: 7 });
    const target = Buffer.allocUnsafe(bytes.byteLength);
    const source = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const memcpy = await measureLoop(name, DECODES_PER_LOOP, () => source.copy(target), { label: `memcpy (Buffer#copy) x${DECODES_PER_LOOP}`, reps: 7 });
    const raw = options.peer
      ? await measureLoop(name, DECODES_PER_LOOP, () => tableFromIPC(bytes), { label: `peer tableFromIPC x${DECODES_PER_LOOP}`, reps: 7 })
      : undefined;
    const decodeGoal = { value: GOAL_DECODE_GBPS, direction: DIRECTION.higher };
    rows.push(
      { metric: "Arrow IPC -> lazy Table (decodeIPC)", unit: "GB/s", petrel: gbps(decode.median), peerName: "memcpy (Buffer#copy)", peer: gbps(memcpy.median), goal: decodeGoal },
      { metric: "Arrow IPC -> lazy Table (decodeIPC)", unit: "GB/s", petrel: gbps(decode.median), peerName: "apache-arrow tableFromIPC (unchecked)", ...(raw ? { peer: gbps(raw.median) } : {}), goal: decodeGoal },
      { metric: "decodeIPC, one call", unit: "ms", petrel: decode.median / 1000, ...(raw ? { peerName: "apache-arrow tableFromIPC", peer: raw.median / 1000 } : {}) },
    );

    // pandas <-> pyarrow, when the Python side has pyarrow
    if (options.peer) {
      let py: PeerOutput | undefined;
      try {
        py = await runDaskPeer(name, ["dataframe", "--rows", String(ROWS), "--reps", "3"]);
      } catch (e) {
        notes.push(`Python peer unavailable: ${(e as Error).message}`);
      }
      if (typeof py?.skipped === "string") notes.push(`pandas -> arrow peer skipped: ${py.skipped}`);
      const p2a = peerSample(py, "pandas_to_ipc");
      const a2p = peerSample(py, "ipc_to_pandas");
      if (p2a) rows.push({ metric: "danfo -> Arrow IPC", unit: "ms", petrel: encode.median, peerName: "pandas -> pyarrow IPC", peer: p2a.median_ms, goal: convertGoal });
      if (a2p) rows.push({ metric: "Arrow IPC -> danfo", unit: "ms", petrel: toDanfo.median, peerName: "pyarrow IPC -> pandas", peer: a2p.median_ms, goal: convertGoal });
    }

    notes.push(
      `IPC stream: ${mb.toFixed(1)} MB; building the danfo DataFrame itself (new dfd.DataFrame of JS columns) took ${danfoCtorMs.toFixed(0)} ms, outside every timing`,
      `petrel samples (ms): encodeIPC ${encode.samples.map((v) => v.toFixed(0)).join(", ")}; tableToDanfo(decodeIPC) ${toDanfo.samples.map((v) => v.toFixed(0)).join(", ")}`,
      "slow peers (vectorFromArray builders, danfo constructor) run 3 times without warm-up to keep the suite short",
    );
    progress(name, "done");
    return { title: this.title, rows, notes };
  },
};
