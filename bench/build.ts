/**
 * Suite "build": the time to define a 10,000-node workflow, that is to run its
 * build function, record the nodes, bind and type-check every input, and
 * validate the compiled spec. The peer builds the same graph as a Dask graph
 * dict (no checking at all) and through dask.delayed.
 */
import { runDaskPeer, peerSample, type PeerOutput } from "./dask-peer.js";
import { DIRECTION, measure, progress, type BenchOptions, type Row, type Suite, type SuiteResult } from "./harness.js";
import { chainWorkflow, fanOutWorkflow, TASKS } from "./overhead.js";

/** The goal: defining a 10k-node workflow. */
export const GOAL_MS = 50;
/** dask.delayed chains grow quadratically, so that comparison is made at this size. */
const DELAYED_CHAIN_TASKS = 1_000;

export const buildSuite: Suite = {
  name: "build",
  title: `build: defining a ${TASKS.toLocaleString("en")}-node graph (workflow() with its checks vs a Dask graph)`,
  async run(options: BenchOptions): Promise<SuiteResult> {
    const name = "build";
    const reps = options.quick ? 3 : 9;
    const notes: string[] = [];
    const chain = await measure(name, () => chainWorkflow(TASKS), { label: "petrel workflow() chain 10k", reps, warmup: 2 });
    const fan = await measure(name, () => fanOutWorkflow(TASKS), { label: "petrel workflow() fan-out 10k", reps, warmup: 2 });
    const small = await measure(name, () => chainWorkflow(DELAYED_CHAIN_TASKS), {
      label: `petrel workflow() chain ${DELAYED_CHAIN_TASKS}`,
      reps,
      warmup: 2,
    });

    let peer: PeerOutput | undefined;
    if (options.peer) {
      try {
        peer = await runDaskPeer(name, [
          "build",
          "--n",
          String(TASKS),
          "--reps",
          String(reps),
          "--delayed-chain-n",
          String(DELAYED_CHAIN_TASKS),
        ]);
      } catch (e) {
        notes.push(`Dask peer unavailable: ${(e as Error).message}`);
      }
    } else notes.push("peer skipped (--no-peer)");

    const goal = { value: GOAL_MS, direction: DIRECTION.lower };
    const rows: Row[] = [];
    const row = (metric: string, petrel: number, peerName: string, sample: string, withGoal: boolean, note?: string) => {
      const s = peerSample(peer, sample);
      rows.push({
        metric,
        unit: "ms",
        petrel,
        ...(s ? { peerName, peer: s.median_ms } : { peerName: `${peerName} (n/a)` }),
        ...(withGoal ? { goal } : {}),
        ...(note ? { note } : {}),
      });
    };
    row("chain 10k", chain.median, "dask graph dict", "dict_chain", true);
    row("fan-out/fan-in 10k", fan.median, "dask graph dict", "dict_fanout", true);
    row("fan-out/fan-in 10k", fan.median, "dask.delayed", "delayed_fanout", true);
    row(
      `chain ${DELAYED_CHAIN_TASKS.toLocaleString("en")}`,
      small.median,
      "dask.delayed",
      "delayed_chain",
      false,
      "dask.delayed chains are quadratic (10k nodes take 10+ s here), so compared at 1k",
    );
    notes.push(
      `petrel: median of ${reps} definitions after 2 warm-ups; includes binding/type checks and validateWorkflowSpec`,
      `petrel chain 10k samples (ms): ${chain.samples.map((v) => v.toFixed(1)).join(", ")}`,
    );
    progress(name, "done");
    return { title: this.title, rows, notes };
  },
};
