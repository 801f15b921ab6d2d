/**
 * Workflow validation shared by the DSL (at definition) and the backend (at
 * registration): unique node ids, known references, acyclic order, and bindings
 * whose types fit the inputs they feed.
 */
import {
  isAssignable,
  typeToString,
  type Binding,
  type LiteralType,
  type Node,
  type TypedInterface,
  type WorkflowSpec,
} from "../model/index.js";
import { COMPILE_ERRORS, WorkflowCompileError } from "./errors.js";

/** Looks up the interface of a node's target (task, subworkflow or launch plan); undefined when unknown. */
export type InterfaceLookup = (node: Node) => TypedInterface | undefined;

/** Validates a compiled workflow; throws WorkflowCompileError naming the first problem. */
export function validateWorkflowSpec(spec: WorkflowSpec, lookup?: InterfaceLookup): void {
  const wf = spec.name;
  const all = new Map<string, Node>();
  const collect = (node: Node) => {
    if (all.has(node.id)) {
      throw new WorkflowCompileError(COMPILE_ERRORS.DUPLICATE_NAME, `workflow ${wf}: node id ${node.id} is used twice`, { workflow: wf, node: node.id });
    }
    all.set(node.id, node);
    if (node.kind === "branch") {
      for (const c of node.cases) collect(c.node);
      if ("node" in node.otherwise) collect(node.otherwise.node);
    }
  };
  for (const node of spec.nodes) collect(node);
  const top = new Map(spec.nodes.map((n) => [n.id, n]));

  const typeOfBinding = (b: Binding, where: { node?: string; input?: string }): LiteralType | undefined => {
    switch (b.kind) {
      case "input": {
        const v = spec.interface.inputs[b.name];
        if (!v) {
          throw new WorkflowCompileError(
            COMPILE_ERRORS.UNKNOWN_INPUT,
            `workflow ${wf}${where.node ? `, node ${where.node}` : ""}: binding refers to unknown workflow input ${b.name}`,
            { workflow: wf, ...where },
          );
        }
        return v.type;
      }
      case "output": {
        const producer = all.get(b.node);
        if (!producer) {
          throw new WorkflowCompileError(
            COMPILE_ERRORS.UNKNOWN_OUTPUT,
            `workflow ${wf}${where.node ? `, node ${where.node}` : ""}: binding refers to unknown node ${b.node}`,
            { workflow: wf, ...where },
          );
        }
        const t = producer.outputs[b.output];
        if (!t) {
          throw new WorkflowCompileError(
            COMPILE_ERRORS.UNKNOWN_OUTPUT,
            `workflow ${wf}${where.node ? `, node ${where.node}` : ""}: node ${b.node} has no output ${b.output} (outputs: ${Object.keys(producer.outputs).join(", ") || "none"})`,
            { workflow: wf, ...where },
          );
        }
        return t;
      }
      default:
        return undefined;
    }
  };

  const checkBinding = (b: Binding, to: LiteralType, node: string, input: string): void => {
    if (b.kind === "list") {
      const items = to.kind === "list" ? to.items : to.kind === "optional" && to.type.kind === "list" ? to.type.items : undefined;
      for (const item of b.items) if (items) checkBinding(item, items, node, input);
      return;
    }
    if (b.kind === "map") {
      for (const [k, item] of Object.entries(b.entries)) {
        const t = to.kind === "map" ? to.values : to.kind === "struct" ? to.fields[k] : undefined;
        if (t) checkBinding(item, t, node, `${input}.${k}`);
      }
      return;
    }
    const from = typeOfBinding(b, { node, input });
    if (from && !isAssignable(from, to)) {
      const source = b.kind === "input" ? `workflow input ${b.name}` : b.kind === "output" ? `output ${b.output} of node ${b.node}` : "a literal";
      throw new WorkflowCompileError(
        COMPILE_ERRORS.BINDING_TYPE_MISMATCH,
        `workflow ${wf}, node ${node}, input ${input}: expected ${typeToString(to)}, got ${typeToString(from)} from ${source}`,
        { workflow: wf, node, input, expected: typeToString(to), actual: typeToString(from) },
      );
    }
  };

  for (const node of all.values()) {
    for (const up of node.upstream) {
      if (!top.has(up) && !all.has(up)) {
        throw new WorkflowCompileError(COMPILE_ERRORS.UNKNOWN_OUTPUT, `workflow ${wf}, node ${node.id}: depends on unknown node ${up}`, {
          workflow: wf,
          node: node.id,
        });
      }
    }
    const iface = lookup?.(node);
    for (const [input, binding] of Object.entries(node.inputs)) {
      if (iface) {
        let declared = iface.inputs[input]?.type;
        if (!declared) {
          throw new WorkflowCompileError(
            COMPILE_ERRORS.UNKNOWN_INPUT,
            `workflow ${wf}, node ${node.id}: ${node.kind === "branch" ? "branch" : node.target.name} has no input ${input} (inputs: ${Object.keys(iface.inputs).join(", ") || "none"})`,
            { workflow: wf, node: node.id, input },
          );
        }
        if (node.kind === "map" && node.mapped.includes(input)) declared = { kind: "list", items: declared };
        checkBinding(binding, declared, node.id, input);
      } else {
        typeOfBinding(binding, { node: node.id, input });
      }
    }
    if (iface) {
      for (const [input, v] of Object.entries(iface.inputs)) {
        if (!(input in node.inputs) && !v.default && v.type.kind !== "optional" && node.kind !== "launch_plan") {
          throw new WorkflowCompileError(
            COMPILE_ERRORS.MISSING_INPUT,
            `workflow ${wf}, node ${node.id}: input ${input} (${typeToString(v.type)}) is not bound`,
            { workflow: wf, node: node.id, input, expected: typeToString(v.type) },
          );
        }
      }
    }
  }
  for (const [name, v] of Object.entries(spec.interface.outputs)) {
    const b = spec.outputs[name];
    if (!b) {
      throw new WorkflowCompileError(COMPILE_ERRORS.MISSING_OUTPUT, `workflow ${wf}: output ${name} is declared but not returned`, {
        workflow: wf,
      });
    }
    checkBinding(b, v.type, "(outputs)", name);
  }
  for (const name of Object.keys(spec.outputs)) {
    if (!(name in spec.interface.outputs)) {
      throw new WorkflowCompileError(
        COMPILE_ERRORS.UNKNOWN_OUTPUT,
        `workflow ${wf}: returned output ${name} is not declared (outputs: ${Object.keys(spec.interface.outputs).join(", ") || "none"})`,
        { workflow: wf },
      );
    }
  }
  checkAcyclic(spec);
}

/**
 * Throws WORKFLOW_CYCLE naming the cycle, e.g. `a -> b -> a` (a runs after b runs
 * after a). Iterative, so a 10,000-node chain cannot overflow the stack.
 */
function checkAcyclic(spec: WorkflowSpec): void {
  const byId = new Map(spec.nodes.map((n) => [n.id, n]));
  const state = new Map<string, 1 | 2>(); // 1: on the path, 2: done
  for (const root of spec.nodes) {
    if (state.has(root.id)) continue;
    const path: string[] = [];
    const iters: Iterator<string>[] = [];
    const enter = (id: string) => {
      state.set(id, 1);
      path.push(id);
      iters.push((byId.get(id)?.upstream ?? [])[Symbol.iterator]());
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
