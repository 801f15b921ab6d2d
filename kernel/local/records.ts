/** Run records: every node's inputs, outputs, timings, attempts and cache status. */
import type { CacheStatus, ExecutionPhase, FailureRecord, LiteralMap, NodePhase } from "../model/index.js";

/** One attempt of a task. */
export interface AttemptRecord {
  attempt: number;
  phase: NodePhase;
  startedAt: number;
  endedAt?: number;
  durationMs?: number;
  error?: FailureRecord;
  /** Lines the task logged through `ctx.log`. */
  logs: string[];
}

/** A node's state in a run. */
export interface NodeRecord {
  id: string;
  /** The task, workflow or launch plan it runs. */
  name: string;
  kind: "task" | "workflow" | "launch_plan" | "map" | "branch";
  phase: NodePhase;
  startedAt?: number;
  endedAt?: number;
  durationMs?: number;
  inputs?: LiteralMap;
  outputs?: LiteralMap;
  attempts: AttemptRecord[];
  cache: { status: CacheStatus; reason?: string; key?: string };
  error?: FailureRecord;
  /** Map instances, or the case a branch took. */
  children?: NodeRecord[];
  /** The nested run of a subworkflow or launch plan node. */
  run?: RunRecord;
}

/** A whole run. */
export interface RunRecord {
  id: string;
  workflow: string;
  phase: ExecutionPhase;
  startedAt: number;
  endedAt?: number;
  durationMs?: number;
  inputs: LiteralMap;
  outputs?: LiteralMap;
  nodes: Record<string, NodeRecord>;
  error?: FailureRecord;
}

/** Progress events while a run goes on. */
export type RunEvent =
  | { type: "node-started"; run: string; node: NodeRecord }
  | { type: "node-finished"; run: string; node: NodeRecord }
  | { type: "attempt-failed"; run: string; node: NodeRecord; attempt: AttemptRecord; retryInMs?: number };
