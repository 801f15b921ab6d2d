/** Executions, their nodes and attempts, and the data API over their literals. */
import { isTerminalPhase, type LiteralMap, type LiteralType, type WorkflowSpec } from "../../../kernel/index.js";
import type { AttemptOutcome } from "../../../kernel/index.js";
import type { ExecutionKey, NodeExecutionRecord, StoredLiterals } from "../../store/index.js";
import type { EngineHooks, RouteContext } from "../context.js";
import { API_ERRORS, ApiError, badRequest, notFound } from "../errors.js";
import {
  createExecution,
  getExecutionOr404,
  parseExecutionFilter,
  parsePage,
  rerunExecution,
  terminateExecution,
  type CreateExecutionBody,
} from "../executions.js";
import { checkBlobRefs, loadLiterals, storeLiterals } from "../literals-store.js";
import { literalProblem } from "../literals.js";
import { has, own } from "../own.js";
import { findNode } from "../registry.js";
import { blobOfLiteral, json, nodeAccess, projectRole, streamBlob, type RouteDef } from "../route.js";
import { executionView, nodeView, attemptView } from "../views.js";
import { SLICE_QUERY } from "./blobs.js";

const EXECUTIONS = "/projects/{project}/domains/{domain}/executions";
const EXECUTION = `${EXECUTIONS}/{execution}`;
const NODE = `${EXECUTION}/nodes/{node}`;

/** The engine runtimes report to; 409 on a server that runs none. */
function engineOr409(ctx: RouteContext): EngineHooks {
  if (!ctx.deps.engine) throw new ApiError(409, API_ERRORS.INVALID_STATE, "this server runs no execution engine");
  return ctx.deps.engine;
}

const keyOf = (ctx: RouteContext): ExecutionKey => ({ project: ctx.params.project!, domain: ctx.params.domain!, name: ctx.params.execution! });

async function nodeOr404(ctx: RouteContext): Promise<NodeExecutionRecord> {
  const key = keyOf(ctx);
  await getExecutionOr404(ctx.deps, key);
  const node = await ctx.deps.store.getNodeExecution(key, ctx.params.node!);
  if (!node) throw notFound(`node ${ctx.params.node}`);
  return node;
}

async function literalsOr404(ctx: RouteContext, stored: StoredLiterals | undefined, what: string): Promise<LiteralMap> {
  if (!stored) throw notFound(what);
  return loadLiterals(ctx.deps, stored);
}

function literalOf(map: LiteralMap, name: string, what: string) {
  const literal = own(map, name);
  if (!literal) throw notFound(`${what} ${name}`);
  return literal;
}

/** The declared output types of a node of the execution's workflow. */
async function nodeOutputTypes(ctx: RouteContext, key: ExecutionKey, nodeId: string): Promise<Record<string, LiteralType>> {
  const execution = await getExecutionOr404(ctx.deps, key);
  const workflow = await ctx.deps.store.getEntity(execution.workflow);
  const node = workflow && findNode((workflow.spec as WorkflowSpec).nodes, nodeId);
  if (!node) throw notFound(`node ${nodeId}`);
  return node.outputs;
}

const dataRoutes = (side: "inputs" | "outputs"): RouteDef[] => {
  const Side = side === "inputs" ? "Inputs" : "Outputs";
  return [
    {
      method: "GET",
      path: `${EXECUTION}/${side}`,
      operationId: `getExecution${Side}`,
      summary: `The execution's ${side} as a literal map.`,
      tag: "data",
      access: "project",
      responses: { 200: { description: "Literals by name.", schema: "model:LiteralMap" } },
      authorize: projectRole("viewer"),
      async handle(ctx) {
        const e = await getExecutionOr404(ctx.deps, keyOf(ctx));
        return json(ctx, 200, await literalsOr404(ctx, e[side], `${side} of execution ${e.key.name}`));
      },
    },
    {
      method: "GET",
      path: `${NODE}/${side}`,
      operationId: `getNode${Side}`,
      summary: `A node's ${side} as a literal map.${side === "inputs" ? " The node's own token may read them." : ""}`,
      tag: "data",
      access: "node",
      responses: { 200: { description: "Literals by name.", schema: "model:LiteralMap" } },
      authorize: nodeAccess("read"),
      async handle(ctx) {
        const node = await nodeOr404(ctx);
        return json(ctx, 200, await literalsOr404(ctx, node[side], `${side} of node ${node.nodeId}`));
      },
    },
    {
      method: "GET",
      path: `${NODE}/${side}/{var}`,
      operationId: `getNode${Side.slice(0, -1)}`,
      summary: `One of a node's ${side}, as a literal.`,
      tag: "data",
      access: "node",
      responses: { 200: { description: "The literal.", schema: "model:Literal" } },
      authorize: nodeAccess("read"),
      async handle(ctx) {
        const node = await nodeOr404(ctx);
        const map = await literalsOr404(ctx, node[side], `${side} of node ${node.nodeId}`);
        return json(ctx, 200, literalOf(map, ctx.params.var!, side.slice(0, -1)));
      },
    },
    {
      method: "GET",
      path: `${NODE}/${side}/{var}/blob`,
      operationId: `getNode${Side.slice(0, -1)}Blob`,
      summary: `The bytes behind one of a node's ${side} (a DataFrame, file or directory): whole, a byte range, or Arrow rows and columns.`,
      tag: "data",
      access: "node",
      query: SLICE_QUERY,
      responses: { 200: { description: "The bytes (Arrow IPC for DataFrames).", schema: "binary" } },
      authorize: nodeAccess("read"),
      async handle(ctx) {
        const node = await nodeOr404(ctx);
        const map = await literalsOr404(ctx, node[side], `${side} of node ${node.nodeId}`);
        const literal = literalOf(map, ctx.params.var!, side.slice(0, -1));
        const hash = blobOfLiteral(literal, `${side.slice(0, -1)} ${ctx.params.var}`);
        return streamBlob(ctx, hash, literal.kind === "blob" && literal.blob.format === "arrow" ? "application/vnd.apache.arrow.stream" : "application/octet-stream");
      },
    },
  ];
};

export const executionRouteDefs: RouteDef[] = [
  {
    method: "POST",
    path: EXECUTIONS,
    operationId: "createExecution",
    summary:
      "Creates an execution of a launch plan or a workflow. Inputs are checked against the interface; fixed inputs, caller inputs, launch plan defaults, workflow defaults apply in that order.",
    tag: "executions",
    access: "project",
    body: "CreateExecutionRequest",
    responses: {
      201: { description: "Queued.", schema: "object" },
      400: { description: "Invalid inputs or unknown launch plan/workflow.", schema: "Error" },
      409: { description: "The name is taken.", schema: "Error" },
    },
    authorize: projectRole("editor"),
    async handle(ctx) {
      const record = await createExecution(ctx.deps, ctx.principal, ctx.params.project!, ctx.params.domain!, ctx.body as CreateExecutionBody);
      return json(ctx, 201, executionView(record));
    },
  },
  {
    method: "GET",
    path: EXECUTIONS,
    operationId: "listExecutions",
    summary: "Executions, newest first, filtered; the cursor is stable while new executions are created.",
    tag: "executions",
    access: "project",
    query: [
      { name: "phase", description: "Phases, comma-separated or repeated.", repeated: true },
      { name: "workflow", description: "Workflow name." },
      { name: "launchPlan", description: "Launch plan name." },
      { name: "label", description: "`key` or `key=value`; repeated labels must all match.", repeated: true },
      { name: "createdAfter", description: "ISO time, inclusive." },
      { name: "createdBefore", description: "ISO time, exclusive." },
      { name: "limit", description: "Page size (1-1000, default 100).", type: "integer" },
      { name: "cursor", description: "The `next` of the previous page." },
    ],
    responses: { 200: { description: "A page of executions.", schema: "object" } },
    authorize: projectRole("viewer"),
    async handle(ctx) {
      const filter = parseExecutionFilter(ctx.params.project!, ctx.params.domain!, ctx.query);
      const page = await ctx.deps.store.listExecutions(filter, parsePage(ctx.query));
      return json(ctx, 200, { items: page.items.map(executionView), ...(page.next ? { next: page.next } : {}) });
    },
  },
  {
    method: "GET",
    path: EXECUTION,
    operationId: "getExecution",
    summary: "One execution.",
    tag: "executions",
    access: "project",
    responses: { 200: { description: "The execution.", schema: "object" } },
    authorize: projectRole("viewer"),
    async handle(ctx) {
      return json(ctx, 200, executionView(await getExecutionOr404(ctx.deps, keyOf(ctx))));
    },
  },
  {
    method: "POST",
    path: `${EXECUTION}/terminate`,
    operationId: "terminateExecution",
    summary: "Terminates an execution with a cause (recorded with who and when); it becomes ABORTED and the engine stops its nodes.",
    tag: "executions",
    access: "project",
    body: "TerminateRequest",
    responses: { 200: { description: "Aborted.", schema: "object" }, 409: { description: "Already finished.", schema: "Error" } },
    authorize: projectRole("editor"),
    async handle(ctx) {
      const record = await terminateExecution(ctx.deps, ctx.principal, keyOf(ctx), (ctx.body as { cause: string }).cause);
      return json(ctx, 200, executionView(record));
    },
  },
  ...(["relaunch", "recover"] as const).map(
    (mode): RouteDef => ({
      method: "POST",
      path: `${EXECUTION}/${mode}`,
      operationId: `${mode}Execution`,
      summary:
        mode === "relaunch"
          ? "A new execution of the same workflow version with the same inputs."
          : "A new execution that reuses the successful nodes of a failed, timed-out or aborted one and hands failed nodes their last checkpoint. With `version`, it runs that version of the workflow (its inputs must fit), reusing only nodes whose task version is unchanged.",
      tag: "executions",
      access: "project",
      body: "RelaunchRequest",
      bodyOptional: true,
      responses: { 201: { description: "Queued.", schema: "object" }, 409: { description: "Not recoverable, or the name is taken.", schema: "Error" } },
      authorize: projectRole("editor"),
      async handle(ctx) {
        const body = ctx.body as { name?: string; version?: string };
        const record = await rerunExecution(ctx.deps, ctx.principal, keyOf(ctx), mode, body.name, body.version);
        return json(ctx, 201, executionView(record));
      },
    }),
  ),
  {
    method: "GET",
    path: `${EXECUTION}/nodes`,
    operationId: "listNodeExecutions",
    summary: "The execution's nodes; with `attempts=true`, each with its attempts.",
    tag: "executions",
    access: "project",
    query: [{ name: "attempts", description: "`true`: list every node's attempts instead of counting them." }],
    responses: { 200: { description: "Nodes.", schema: "object" } },
    authorize: projectRole("viewer"),
    async handle(ctx) {
      const key = keyOf(ctx);
      await getExecutionOr404(ctx.deps, key);
      const nodes = await ctx.deps.store.listNodeExecutions(key);
      const withAttempts = ctx.query.get("attempts");
      if (withAttempts !== null && withAttempts !== "true" && withAttempts !== "false") {
        throw badRequest("attempts", `${JSON.stringify(withAttempts)} is not true or false`, API_ERRORS.INVALID_PARAMETER);
      }
      if (withAttempts !== "true") return json(ctx, 200, { items: nodes.map((n) => nodeView(n)) });
      const attempts = await Promise.all(nodes.map((n) => ctx.deps.store.listNodeAttempts(key, n.nodeId)));
      return json(ctx, 200, { items: nodes.map((n, i) => nodeView(n, attempts[i])) });
    },
  },
  {
    method: "GET",
    path: NODE,
    operationId: "getNodeExecution",
    summary: "One node with its attempts.",
    tag: "executions",
    access: "project",
    responses: { 200: { description: "The node.", schema: "object" } },
    authorize: projectRole("viewer"),
    async handle(ctx) {
      const node = await nodeOr404(ctx);
      return json(ctx, 200, nodeView(node, await ctx.deps.store.listNodeAttempts(node.execution, node.nodeId)));
    },
  },
  {
    method: "GET",
    path: `${NODE}/attempts`,
    operationId: "listNodeAttempts",
    summary: "A node's attempts, first to last.",
    tag: "executions",
    access: "project",
    responses: { 200: { description: "Attempts.", schema: "object" } },
    authorize: projectRole("viewer"),
    async handle(ctx) {
      const node = await nodeOr404(ctx);
      const attempts = await ctx.deps.store.listNodeAttempts(node.execution, node.nodeId);
      return json(ctx, 200, { items: attempts.map(attemptView) });
    },
  },
  ...dataRoutes("inputs"),
  ...dataRoutes("outputs"),
  {
    method: "PUT",
    path: `${NODE}/outputs`,
    operationId: "writeNodeOutputs",
    summary: "Writes a node's outputs (its node token, or an editor): every declared output, each fitting its type; blobs uploaded first.",
    tag: "data",
    access: "node",
    body: "WriteOutputsRequest",
    responses: { 200: { description: "Stored.", schema: "object" }, 409: { description: "The node already finished.", schema: "Error" } },
    authorize: nodeAccess("write"),
    async handle(ctx) {
      const key = keyOf(ctx);
      const nodeId = ctx.params.node!;
      const types = await nodeOutputTypes(ctx, key, nodeId);
      const outputs = (ctx.body as { outputs: LiteralMap }).outputs;
      for (const name of Object.keys(outputs)) {
        if (!has(types, name)) throw badRequest(`outputs.${name}`, `node ${nodeId} has no output ${name} (outputs: ${Object.keys(types).join(", ") || "none"})`, API_ERRORS.INVALID_INPUTS);
      }
      for (const [name, type] of Object.entries(types)) {
        const literal = own(outputs, name);
        if (!literal) throw badRequest(`outputs.${name}`, "is required", API_ERRORS.INVALID_INPUTS);
        const problem = literalProblem(literal, type, `outputs.${name}`);
        if (problem) throw badRequest(`outputs.${name}`, problem, API_ERRORS.INVALID_INPUTS);
      }
      await checkBlobRefs(ctx.deps, key.project, outputs, "outputs");
      const existing = await ctx.deps.store.getNodeExecution(key, nodeId);
      if (existing && isTerminalPhase(existing.phase)) {
        throw new ApiError(409, API_ERRORS.INVALID_STATE, `node ${nodeId} already finished (${existing.phase})`);
      }
      const now = ctx.deps.clock.now();
      const stored = await storeLiterals(ctx.deps, key.project, outputs, ctx.principal.name);
      const record: NodeExecutionRecord = existing
        ? { ...existing, outputs: stored, updatedAt: now }
        : { execution: key, nodeId, phase: "RUNNING", outputs: stored, attempts: 0, createdAt: now, updatedAt: now };
      await ctx.deps.store.putNodeExecution(record);
      return json(ctx, 200, nodeView(record));
    },
  },
  {
    method: "GET",
    path: `${NODE}/checkpoint`,
    operationId: "getNodeCheckpoint",
    summary: "The node's latest checkpoint (a blob reference), carried to its next attempt.",
    tag: "data",
    access: "node",
    responses: { 200: { description: "The checkpoint.", schema: "object" }, 404: { description: "None yet.", schema: "Error" } },
    authorize: nodeAccess("read"),
    async handle(ctx) {
      const node = await nodeOr404(ctx);
      if (!node.checkpoint) throw notFound(`checkpoint of node ${node.nodeId}`);
      return json(ctx, 200, { checkpoint: node.checkpoint });
    },
  },
  {
    method: "PUT",
    path: `${NODE}/checkpoint`,
    operationId: "writeNodeCheckpoint",
    summary: "Records the node's checkpoint: a blob already uploaded to the project.",
    tag: "data",
    access: "node",
    body: "CheckpointRequest",
    responses: { 200: { description: "Recorded.", schema: "object" } },
    authorize: nodeAccess("write"),
    async handle(ctx) {
      const key = keyOf(ctx);
      const nodeId = ctx.params.node!;
      await nodeOutputTypes(ctx, key, nodeId);
      const checkpoint = (ctx.body as { checkpoint: { hash: string; size: number; format: "file" | "arrow" | "dir" } }).checkpoint;
      await checkBlobRefs(ctx.deps, key.project, { checkpoint: { kind: "blob", blob: checkpoint } }, "body");
      if (ctx.deps.engine) {
        const attempt = (await ctx.deps.store.getNodeExecution(key, nodeId))?.attempts ?? 1;
        await ctx.deps.engine.recordCheckpoint({ execution: key, node: nodeId, attempt: attempt - 1 }, checkpoint);
        return json(ctx, 200, { checkpoint });
      }
      const now = ctx.deps.clock.now();
      const existing = await ctx.deps.store.getNodeExecution(key, nodeId);
      const record: NodeExecutionRecord = existing
        ? { ...existing, checkpoint, updatedAt: now }
        : { execution: key, nodeId, phase: "RUNNING", checkpoint, attempts: 0, createdAt: now, updatedAt: now };
      await ctx.deps.store.putNodeExecution(record);
      return json(ctx, 200, { checkpoint });
    },
  },
  {
    method: "POST",
    path: `${NODE}/attempts/{attempt}/outcome`,
    operationId: "reportAttemptOutcome",
    summary:
      "A runtime reports how its attempt ended (its node token): outputs on success, a failure record otherwise. Outputs are checked against the task's interface; repeating a report is harmless.",
    tag: "data",
    access: "node",
    body: "AttemptOutcome",
    responses: {
      200: { description: "Recorded; the node as it stands.", schema: "object" },
      409: { description: "Not the node's current attempt, or the execution runs no engine here.", schema: "Error" },
    },
    authorize: nodeAccess("write"),
    async handle(ctx) {
      const engine = engineOr409(ctx);
      const key = keyOf(ctx);
      await getExecutionOr404(ctx.deps, key);
      const node = await engine.reportOutcome({ execution: key, node: ctx.params.node!, attempt: Number(ctx.params.attempt) }, ctx.body as AttemptOutcome);
      if (!node) throw notFound(`node ${ctx.params.node}`);
      return json(ctx, 200, nodeView(node));
    },
  },
  {
    method: "POST",
    path: `${NODE}/attempts/{attempt}/heartbeat`,
    operationId: "heartbeatAttempt",
    summary: "A runtime says its attempt is alive (its node token). `running: false` tells it to stop: the attempt was terminated, timed out or declared lost.",
    tag: "data",
    access: "node",
    responses: { 200: { description: "Whether the attempt still runs.", schema: "object" }, 409: { description: "This server runs no execution engine.", schema: "Error" } },
    authorize: nodeAccess("write"),
    async handle(ctx) {
      const engine = engineOr409(ctx);
      return json(ctx, 200, { running: engine.heartbeat({ execution: keyOf(ctx), node: ctx.params.node!, attempt: Number(ctx.params.attempt) }) });
    },
  },
  {
    method: "GET",
    path: `${NODE}/attempts/{attempt}/logs`,
    operationId: "getAttemptLogs",
    summary: "An attempt's stdout and stderr as text: all of it, the last `tail` bytes, and with `follow=true` streamed until the attempt ends.",
    tag: "executions",
    access: "project",
    query: [
      { name: "tail", description: "Only the last this many bytes.", type: "integer" },
      { name: "follow", description: "`true`: keep streaming what is appended until the attempt ends." },
    ],
    responses: { 200: { description: "The log text.", schema: "binary" }, 404: { description: "No such attempt, or it kept no logs.", schema: "Error" } },
    authorize: projectRole("viewer"),
    async handle(ctx) {
      const node = await nodeOr404(ctx);
      const attempt = Number(ctx.params.attempt);
      if (attempt >= node.attempts) throw notFound(`attempt ${attempt} of node ${node.nodeId}`);
      const tailText = ctx.query.get("tail");
      if (tailText !== null && !/^[0-9]{1,12}$/.test(tailText)) throw badRequest("tail", `${JSON.stringify(tailText)} is not a byte count`, API_ERRORS.INVALID_PARAMETER);
      const followText = ctx.query.get("follow");
      if (followText !== null && followText !== "true" && followText !== "false") throw badRequest("follow", `${JSON.stringify(followText)} is not true or false`, API_ERRORS.INVALID_PARAMETER);
      const stream = await ctx.deps.engine?.logs.read(
        { execution: node.execution, node: node.nodeId, attempt },
        { ...(tailText !== null ? { tailBytes: Number(tailText) } : {}), follow: followText === "true", signal: ctx.c.req.raw.signal },
      );
      if (!stream) throw notFound(`logs of attempt ${attempt} of node ${node.nodeId}`);
      return new Response(ReadableStream.from(stream), { status: 200, headers: { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" } });
    },
  },
];
