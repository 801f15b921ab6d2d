/**
 * Typed conditionals: `when(cond).then(() => a(...)).otherwise(() => b(...))`.
 * Each case builds exactly one node; every case must produce the same outputs, so
 * what follows the branch is typed the same whichever case runs.
 */
import { typesEqual, typeToString, type BranchCase, type BranchNode, type Node } from "../model/index.js";
import { COMPILE_ERRORS, WorkflowCompileError } from "./errors.js";
import { conditionOf, nodeIdOf, type ConditionExpr, type NodeOutputs } from "./handles.js";
import { BuildScope, currentScope, nodeOutputs, withScope } from "./scope.js";

/** A branch being built: add cases, then finish with `otherwise` or `fail`. */
export interface Branch<O> {
  /** Another case, tried if the earlier ones did not match. */
  when(condition: ConditionExpr): { then(build: () => NodeOutputs<O>): Branch<O> };
  /** The fallback case; returns the branch's outputs. */
  otherwise(build: () => NodeOutputs<O>): NodeOutputs<O>;
  /** No fallback: the run fails with this message when no case matches. */
  fail(message: string): NodeOutputs<O>;
}

interface PendingCase {
  condition: ConditionExpr;
  node: Node;
}

/** Starts a conditional. */
export function when(condition: ConditionExpr): { then<O>(build: () => NodeOutputs<O>): Branch<O> } {
  const scope = currentScope(() => "when()", () => "conditionals are for use inside a workflow definition");
  const id = scope.nodeId("branch");
  const cases: PendingCase[] = [];

  const buildCase = (build: () => NodeOutputs<unknown>, label: string): Node => {
    const inner = new BuildScope(scope.workflow, scope.registry, scope);
    const result = withScope(inner, build);
    if (inner.nodes.length !== 1) {
      throw new WorkflowCompileError(
        COMPILE_ERRORS.INVALID_BRANCH,
        `workflow ${scope.workflow}, ${id} ${label}: a case must call exactly one task or workflow, it called ${inner.nodes.length}; wrap several steps in a subworkflow`,
        { workflow: scope.workflow, node: id },
      );
    }
    const node = inner.nodes[0]!;
    if (nodeIdOf(result) !== node.id) {
      throw new WorkflowCompileError(
        COMPILE_ERRORS.INVALID_BRANCH,
        `workflow ${scope.workflow}, ${id} ${label}: the case must return the result of its task call`,
        { workflow: scope.workflow, node: id },
      );
    }
    return node;
  };

  const addCase = (condition: ConditionExpr, build: () => NodeOutputs<unknown>) => {
    if (!conditionOf(condition)) {
      throw new WorkflowCompileError(
        COMPILE_ERRORS.INVALID_BRANCH,
        `workflow ${scope.workflow}, ${id}: when() takes a condition such as x.gt(5) or flag.isTrue()`,
        { workflow: scope.workflow, node: id },
      );
    }
    cases.push({ condition, node: buildCase(build, `case ${cases.length + 1}`) });
  };

  const finish = (otherwise: BranchNode["otherwise"]): NodeOutputs<unknown> => {
    const all = [...cases.map((c) => c.node), ...("node" in otherwise ? [otherwise.node] : [])];
    const outputs = all[0]!.outputs;
    for (const n of all.slice(1)) {
      const names = new Set([...Object.keys(outputs), ...Object.keys(n.outputs)]);
      for (const name of names) {
        const a = outputs[name];
        const b = n.outputs[name];
        if (!a || !b || !typesEqual(a, b)) {
          throw new WorkflowCompileError(
            COMPILE_ERRORS.INVALID_BRANCH,
            `workflow ${scope.workflow}, ${id}: cases disagree on output ${name}: ${all[0]!.id} gives ${a ? typeToString(a) : "nothing"}, ${n.id} gives ${b ? typeToString(b) : "nothing"}`,
            { workflow: scope.workflow, node: id },
          );
        }
      }
    }
    const upstream = new Set<string>();
    for (const c of cases) for (const u of conditionOf(c.condition)!.upstream) upstream.add(u);
    for (const n of all) for (const u of n.upstream) upstream.add(u);
    const branchCases: BranchCase[] = cases.map((c) => ({ condition: conditionOf(c.condition)!.condition, node: c.node }));
    const node: BranchNode = {
      kind: "branch",
      id,
      inputs: {},
      upstream: [...upstream],
      metadata: { name: id },
      outputs,
      cases: branchCases,
      otherwise,
    };
    scope.addNode(node);
    return nodeOutputs(scope, node, {});
  };

  const branch: Branch<unknown> = {
    when: (condition) => ({
      then: (build) => {
        addCase(condition, build);
        return branch;
      },
    }),
    otherwise: (build) => finish({ node: buildCase(build, "otherwise") }),
    fail: (message) => {
      if (cases.length === 0) {
        throw new WorkflowCompileError(COMPILE_ERRORS.INVALID_BRANCH, `workflow ${scope.workflow}, ${id}: a branch needs a case before fail()`);
      }
      return finish({ error: String(message) });
    },
  };
  return {
    then: <O>(build: () => NodeOutputs<O>) => {
      addCase(condition, build as () => NodeOutputs<unknown>);
      return branch as unknown as Branch<O>;
    },
  };
}
