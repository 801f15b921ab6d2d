/**
 * Workflow validation shared by the DSL (at definition) and the backend (at
 * registration): unique node ids, known references, acyclic order, and bindings
 * whose types fit the inputs they feed.
 */
import {
  isAssignable,
  typeToString,
  type Binding,
  type Condition,
  type LiteralType,
  type Node,
  type TypedInterface,
  type WorkflowSpec,
} from "../model/index.js";
import { COMPILE_ERRORS, WorkflowCompileError } from "./errors.js";

/** A record's own entry: names from specs must never reach Object.prototype ("constructor", "toString"). */
function own<T>(record: Record<string, T>, key: string): T | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

/** Looks up the interface of a node's target (task, subworkflow or launch plan); undefined when unknown. */
export type InterfaceLookup = (node: Node) => TypedInterface | undefined;

/** Validates a compiled workflow; throws WorkflowCompileError naming the first problem. */
export function validateWorkflowSpec(spec: WorkflowSpec, lookup?: InterfaceLookup): void {
  const wf = spec.name;
  type Fields = { node?: string; input?: string; expected?: string; actual?: string };
  /** `namesInput`: the message already names the input, so the prefix leaves it out. */
  const fail = (code: string, message: string, fields: Fields = {}, namesInput = false): never => {
    const at = `${fields.node ? `, node ${fields.node}` : ""}${fields.input && !namesInput ? `, input ${fields.input}` : ""}`;
    throw new WorkflowCompileError(code, `workflow ${wf}${at}: ${message}`, { workflow: wf, ...fields });
  };

  // Every node id, nested ones included, is unique; only top-level nodes are visible outside a branch.
  const all = new Map<string, Node>();
  const insideBranch = new Map<string, string>();
  const collect = (node: Node, branch?: string) => {
    if (all.has(node.id)) {
      throw new WorkflowCompileError(COMPILE_ERRORS.DUPLICATE_NAME, `workflow ${wf}: node id ${node.id} is used twice`, { workflow: wf, node: node.id });
    }
    all.set(node.id, node);
    if (branch) insideBranch.set(node.id, branch);
    if (node.kind === "branch") {
      for (const c of node.cases) collect(c.node, node.id);
      if ("node" in node.otherwise) collect(node.otherwise.node, node.id);
    }
  };
  for (const node of spec.nodes) collect(node);

  /** The producer of an output binding, which must be visible from where it is read. */
  const producer = (b: Extract<Binding, { kind: "output" }>, where: { node?: string; input?: string }): Node => {
    const p = all.get(b.node);
    if (!p) return fail(COMPILE_ERRORS.UNKNOWN_OUTPUT, `binding refers to unknown node ${b.node}`, where);
    const branch = insideBranch.get(b.node);
    if (branch) {
      return fail(
        COMPILE_ERRORS.UNKNOWN_OUTPUT,
        `reads output ${b.output} of node ${b.node}, which runs inside ${branch}; use the outputs of ${branch} instead`,
        where,
      );
    }
    if (!own(p.outputs, b.output)) {
      fail(
        COMPILE_ERRORS.UNKNOWN_OUTPUT,
        `node ${b.node} has no output ${b.output} (outputs: ${Object.keys(p.outputs).join(", ") || "none"})`,
        where,
      );
    }
    return p;
  };

  /** Walks a binding: checks references, types (when known) and collects the nodes it reads. */
  const checkBinding = (b: Binding, to: LiteralType | undefined, where: { node: string; input: string }, sources: Set<string>): void => {
    const mismatch = (actual: string, source?: string): never =>
      fail(COMPILE_ERRORS.BINDING_TYPE_MISMATCH, `expected ${typeToString(to!)}, got ${actual}${source ? ` from ${source}` : ""}`, {
        ...where,
        expected: typeToString(to!),
        actual,
      });
    const inner = to?.kind === "optional" ? to.type : to;
    switch (b.kind) {
      case "input": {
        const v = own(spec.interface.inputs, b.name);
        if (!v) return fail(COMPILE_ERRORS.UNKNOWN_INPUT, `binding refers to unknown workflow input ${b.name}`, where);
        if (to && !isAssignable(v.type, to)) mismatch(typeToString(v.type), `workflow input ${b.name}`);
        return;
      }
      case "output": {
        const from = producer(b, where).outputs[b.output]!;
        sources.add(b.node);
        if (to && !isAssignable(from, to)) mismatch(typeToString(from), `output ${b.output} of node ${b.node}`);
        return;
      }
      case "literal":
        return;
      case "list":
        if (inner && inner.kind !== "list") mismatch("a list");
        b.items.forEach((item, i) =>
          checkBinding(item, inner?.kind === "list" ? inner.items : undefined, { ...where, input: `${where.input}[${i}]` }, sources),
        );
        return;
      case "map":
        if (inner && inner.kind !== "map" && inner.kind !== "struct") mismatch("a map");
        for (const [k, item] of Object.entries(b.entries)) {
          if (inner?.kind === "struct" && !Object.hasOwn(inner.fields, k)) {
            fail(COMPILE_ERRORS.UNKNOWN_INPUT, `struct has no field ${k}`, where);
          }
          const t = inner?.kind === "map" ? inner.values : inner?.kind === "struct" ? own(inner.fields, k) : undefined;
          checkBinding(item, t, { ...where, input: `${where.input}.${k}` }, sources);
        }
        return;
    }
  };

  const checkCondition = (c: Condition, node: string, sources: Set<string>): void => {
    switch (c.kind) {
      case "compare":
        checkBinding(c.left, undefined, { node, input: "(condition)" }, sources);
        checkBinding(c.right, undefined, { node, input: "(condition)" }, sources);
        return;
      case "truthy":
        checkBinding(c.value, undefined, { node, input: "(condition)" }, sources);
        return;
      case "not":
        checkCondition(c.condition, node, sources);
        return;
      default:
        for (const inner of c.conditions) checkCondition(inner, node, sources);
    }
  };

  /** Checks one node's inputs against its target's interface; returns the nodes it reads. */
  const checkNode = (node: Node): Set<string> => {
    const sources = new Set<string>();
    const iface = node.kind === "branch" ? undefined : lookup?.(node);
    for (const [input, binding] of Object.entries(node.inputs)) {
      let declared: LiteralType | undefined;
      if (iface) {
        declared = own(iface.inputs, input)?.type;
        if (!declared) {
          const target = node.kind === "branch" ? "branch" : node.target.name;
          fail(
            COMPILE_ERRORS.UNKNOWN_INPUT,
            `${target} has no input ${input} (inputs: ${Object.keys(iface.inputs).join(", ") || "none"})`,
            { node: node.id, input },
            true,
          );
        }
        if (node.kind === "map" && node.mapped.includes(input)) declared = { kind: "list", items: declared! };
      }
      checkBinding(binding, declared, { node: node.id, input }, sources);
    }
    if (iface) {
      for (const [input, v] of Object.entries(iface.inputs)) {
        if (!Object.hasOwn(node.inputs, input) && !v.default && v.type.kind !== "optional" && node.kind !== "launch_plan") {
          fail(
            COMPILE_ERRORS.MISSING_INPUT,
            `input ${input} (${typeToString(v.type)}) is not bound`,
            { node: node.id, input, expected: typeToString(v.type) },
            true,
          );
        }
      }
    }
    if (node.kind === "branch") {
      for (const c of node.cases) {
        checkCondition(c.condition, node.id, sources);
        for (const s of checkNode(c.node)) sources.add(s);
      }
      if ("node" in node.otherwise) for (const s of checkNode(node.otherwise.node)) sources.add(s);
    }
    return sources;
  };

  const sources = new Map<string, Set<string>>();
  for (const node of spec.nodes) {
    for (const up of node.upstream) {
      if (!all.has(up) || insideBranch.has(up)) fail(COMPILE_ERRORS.UNKNOWN_OUTPUT, `depends on unknown node ${up}`, { node: node.id });
    }
    sources.set(node.id, checkNode(node));
  }
  // Order is upstream plus every node read: a cycle of bindings alone is still a cycle.
  checkAcyclic(spec, (id) => [...(all.get(id)?.upstream ?? []), ...(sources.get(id) ?? [])]);
  for (const node of spec.nodes) {
    // A node must wait for every node it reads, or it could start before its input exists.
    const upstream = new Set(node.upstream);
    for (const source of sources.get(node.id)!) {
      if (!upstream.has(source)) {
        fail(COMPILE_ERRORS.MISSING_UPSTREAM, `reads node ${source} but does not list it in upstream`, { node: node.id });
      }
    }
  }

  for (const [name, v] of Object.entries(spec.interface.outputs)) {
    const b = own(spec.outputs, name);
    if (!b) fail(COMPILE_ERRORS.MISSING_OUTPUT, `output ${name} is declared but not returned`);
    checkBinding(b!, v.type, { node: "(outputs)", input: name }, new Set());
  }
  for (const name of Object.keys(spec.outputs)) {
    if (!Object.hasOwn(spec.interface.outputs, name)) {
      fail(
        COMPILE_ERRORS.UNKNOWN_OUTPUT,
        `returned output ${name} is not declared (outputs: ${Object.keys(spec.interface.outputs).join(", ") || "none"})`,
      );
    }
  }
}

/**
 * Throws WORKFLOW_CYCLE naming the cycle, e.g. `a -> b -> a` (a runs after b runs
 * after a). Iterative, so a 10,000-node chain cannot overflow the stack.
 */
function checkAcyclic(spec: WorkflowSpec, dependencies: (id: string) => string[]): void {
  const state = new Map<string, 1 | 2>(); // 1: on the path, 2: done
  for (const root of spec.nodes) {
    if (state.has(root.id)) continue;
    const path: string[] = [];
    const iters: Iterator<string>[] = [];
    const enter = (id: string) => {
      state.set(id, 1);
      path.push(id);
      iters.push(dependencies(id)[Symbol.iterator]());
    };
    enter(root.id);
    while (iters.length > 0) {
      const next = iters[iters.length - 1]!.next();
      if (next.done) {
        state.set(path.pop()!, 2);
        iters.pop();
        continue;
      }
      const s = state.get(next.value);
      if (s === 1) {
        const cycle = [...path.slice(path.indexOf(next.value)), next.value];
        throw new WorkflowCompileError(COMPILE_ERRORS.CYCLE, `workflow ${spec.name} has a cycle: ${cycle.join(" -> ")}`, {
          workflow: spec.name,
          node: next.value,
        });
      }
      if (s === undefined) enter(next.value);
    }
  }
}
