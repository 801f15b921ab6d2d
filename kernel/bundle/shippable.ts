/**
 * What a bundle may ship. A bundle re-runs the top-level declarations it holds when
 * it loads, in another process, maybe on another machine, so a declaration ships
 * only when re-running it yields the same thing: a *definition*, not a *result*.
 *
 * Shippable:
 * - function, class, enum and namespace declarations (class static initializers run
 *   at load, like any definition);
 * - variables without an initializer, or initialized with: literals (strings,
 *   numbers, bigints, booleans, null, regular expressions, templates of shippable
 *   parts); references to other names (which are checked in turn); arrow functions,
 *   function and class expressions; object and array literals of shippable parts
 *   (methods, getters and spreads included); unary, binary (not assignment) and
 *   conditional operators, property and element access, `as`/`satisfies`/`!` over
 *   shippable parts;
 * - calls of Petrel's definition API imported from `petrel`: `task(...)`,
 *   `notebookTask(...)`, `workflow(...)`, `launchPlan(...)`, `map(...)`, and `t.*(...)` type builders
 *   with their `.default(...)`/`.describe(...)` chains, when the arguments are shippable;
 * - a few pure built-ins over shippable arguments (`SHIPPABLE_CALLS`), and `new` of
 *   the value classes in `SHIPPABLE_CLASSES` (`new Date(...)` only with arguments:
 *   without, it is the current time);
 * - imports (packages are imported again where the bundle loads).
 *
 * Everything else is unshippable: an `await`, the result of any other call
 * (`net.connect(...)`, `readCSV(...)`, `Math.random()`), `new` of any other class,
 * assignments, `++`/`--`, tagged templates, dynamic `import()`, `yield`, `delete`.
 * A declaration whose JSDoc carries `@ship` is shipped as written, and its
 * initializer re-runs when the bundle loads: the author vouches that this is fine.
 */
import type * as TS from "typescript";
import { typescript } from "./typescript.js";

/** Petrel functions whose calls are definitions. `t` is the type-builder namespace. */
export const PETREL_DEFINITIONS: readonly string[] = ["task", "notebookTask", "workflow", "launchPlan", "map", "t"];

/** Global functions that are pure over their arguments: calling them at load gives the same value. */
export const SHIPPABLE_CALLS: readonly string[] = [
  "Symbol",
  "Symbol.for",
  "BigInt",
  "String",
  "Number",
  "Boolean",
  "Object.freeze",
  "Object.fromEntries",
  "Object.entries",
  "Object.keys",
  "Object.values",
  "Array.of",
  "JSON.parse",
  "JSON.stringify",
  "Math.abs",
  "Math.ceil",
  "Math.floor",
  "Math.round",
  "Math.trunc",
  "Math.max",
  "Math.min",
  "Math.pow",
  "Math.sqrt",
  "Math.exp",
  "Math.log",
];

/** Global classes whose instances are plain values, rebuilt identically at load from the same arguments. */
export const SHIPPABLE_CLASSES: readonly string[] = [
  "Map",
  "Set",
  "WeakMap",
  "WeakSet",
  "Date",
  "RegExp",
  "URL",
  "URLSearchParams",
  "Error",
  "TypeError",
  "RangeError",
  "TextEncoder",
  "TextDecoder",
  "ArrayBuffer",
  "Uint8Array",
  "Int8Array",
  "Uint16Array",
  "Int16Array",
  "Uint32Array",
  "Int32Array",
  "Float32Array",
  "Float64Array",
  "BigInt64Array",
  "BigUint64Array",
];

/** How a name used in a declaration resolves, as far as shippability cares. */
export interface NameLookup {
  /** The Petrel export the name is imported as (`task`, `t`, `*` for a namespace import of petrel), if any. */
  petrelImport(name: string): string | undefined;
  /** True when the name is bound at top level in the sources (so it is not the global of that name). */
  isBound(name: string): boolean;
}

/** True when a declaration is marked `@ship`: shipped as written whatever its initializer. */
export function isMarkedShippable(node: TS.Node): boolean {
  const t = typescript();
  return t.getJSDocTags(node).some((tag) => tag.tagName.text === "ship");
}

/**
 * Why a top-level declaration cannot ship, or undefined when it can. `node` is the
 * declaration (a variable declarator, a function, a class, an `export default` expression).
 */
export function unshippableReason(node: TS.Node, lookup: NameLookup): string | undefined {
  const t = typescript();
  if (isMarkedShippable(node)) return undefined;
  if (t.isVariableDeclaration(node)) return node.initializer ? expressionReason(node.initializer, lookup) : undefined;
  if (t.isExportAssignment(node)) return expressionReason(node.expression, lookup);
  return undefined;
}

function short(node: TS.Node): string {
  const text = node.getText().replace(/\s+/g, " ");
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** The dotted name of a callee (`a.b.c`) when it is made of identifiers only. */
function dottedName(n: TS.Expression): string | undefined {
  const t = typescript();
  if (t.isIdentifier(n)) return n.text;
  if (t.isPropertyAccessExpression(n) && t.isIdentifier(n.name)) {
    const left = dottedName(n.expression);
    return left === undefined ? undefined : `${left}.${n.name.text}`;
  }
  return undefined;
}

/** True for a call of Petrel's definition API: `task(...)`, `t.int()`, `t.int().default(1)`, `petrel.task(...)`. */
function isDefinitionCall(call: TS.CallExpression, lookup: NameLookup): boolean {
  const t = typescript();
  const callee = call.expression;
  if (t.isIdentifier(callee)) {
    const imported = lookup.petrelImport(callee.text);
    return imported !== undefined && imported !== "t" && PETREL_DEFINITIONS.includes(imported);
  }
  if (!t.isPropertyAccessExpression(callee)) return false;
  const object = callee.expression;
  // t.int(...), petrel.t.int(...), petrel.task(...)
  const dotted = dottedName(object);
  if (dotted !== undefined) {
    const [root, ...rest] = dotted.split(".");
    const imported = lookup.petrelImport(root!);
    if (imported === "t" && rest.length === 0) return true;
    if (imported === "*") {
      if (rest.length === 0) return PETREL_DEFINITIONS.includes(callee.name.text) && callee.name.text !== "t";
      return rest.length === 1 && rest[0] === "t";
    }
    return false;
  }
  // t.int().default(18).describe("...")
  return t.isCallExpression(object) && isTypeBuilderCall(object, lookup);
}

function isTypeBuilderCall(call: TS.CallExpression, lookup: NameLookup): boolean {
  const t = typescript();
  const callee = call.expression;
  if (!t.isPropertyAccessExpression(callee)) return false;
  const dotted = dottedName(callee.expression);
  if (dotted !== undefined) {
    const [root, ...rest] = dotted.split(".");
    const imported = lookup.petrelImport(root!);
    return (imported === "t" && rest.length === 0) || (imported === "*" && rest.length === 1 && rest[0] === "t");
  }
  return t.isCallExpression(callee.expression) && isTypeBuilderCall(callee.expression, lookup);
}

function expressionReason(e: TS.Expression, lookup: NameLookup): string | undefined {
  const t = typescript();
  const all = (nodes: readonly TS.Node[]): string | undefined => {
    for (const n of nodes) {
      const r = expressionReason(n as TS.Expression, lookup);
      if (r) return r;
    }
    return undefined;
  };
  switch (e.kind) {
    case t.SyntaxKind.StringLiteral:
    case t.SyntaxKind.NumericLiteral:
    case t.SyntaxKind.BigIntLiteral:
    case t.SyntaxKind.NoSubstitutionTemplateLiteral:
    case t.SyntaxKind.RegularExpressionLiteral:
    case t.SyntaxKind.TrueKeyword:
    case t.SyntaxKind.FalseKeyword:
    case t.SyntaxKind.NullKeyword:
    case t.SyntaxKind.Identifier:
    case t.SyntaxKind.ArrowFunction:
    case t.SyntaxKind.FunctionExpression:
    case t.SyntaxKind.ClassExpression:
    case t.SyntaxKind.OmittedExpression:
      return undefined;
  }
  if (t.isTemplateExpression(e)) return all(e.templateSpans.map((s) => s.expression));
  if (t.isParenthesizedExpression(e) || t.isAsExpression(e) || t.isSatisfiesExpression(e) || t.isNonNullExpression(e) || t.isTypeAssertionExpression(e)) {
    return expressionReason(e.expression, lookup);
  }
  if (t.isObjectLiteralExpression(e)) {
    for (const p of e.properties) {
      if (p.name && t.isComputedPropertyName(p.name)) {
        const r = expressionReason(p.name.expression, lookup);
        if (r) return r;
      }
      if (t.isPropertyAssignment(p)) {
        const r = expressionReason(p.initializer, lookup);
        if (r) return r;
      } else if (t.isSpreadAssignment(p)) {
        const r = expressionReason(p.expression, lookup);
        if (r) return r;
      }
    }
    return undefined;
  }
  if (t.isArrayLiteralExpression(e)) return all(e.elements);
  if (t.isSpreadElement(e)) return expressionReason(e.expression, lookup);
  if (t.isPrefixUnaryExpression(e)) {
    if (e.operator === t.SyntaxKind.PlusPlusToken || e.operator === t.SyntaxKind.MinusMinusToken) return `it updates a variable (${short(e)})`;
    return expressionReason(e.operand, lookup);
  }
  if (t.isPostfixUnaryExpression(e)) return `it updates a variable (${short(e)})`;
  if (t.isTypeOfExpression(e) || t.isVoidExpression(e)) return expressionReason(e.expression, lookup);
  if (t.isBinaryExpression(e)) {
    const op = e.operatorToken.kind;
    if (op >= t.SyntaxKind.FirstAssignment && op <= t.SyntaxKind.LastAssignment) return `it assigns a variable (${short(e)})`;
    return expressionReason(e.left, lookup) ?? expressionReason(e.right, lookup);
  }
  if (t.isConditionalExpression(e)) return all([e.condition, e.whenTrue, e.whenFalse]);
  if (t.isPropertyAccessExpression(e)) return expressionReason(e.expression, lookup);
  if (t.isElementAccessExpression(e)) return expressionReason(e.expression, lookup) ?? expressionReason(e.argumentExpression, lookup);
  if (t.isAwaitExpression(e)) return `its value comes from await (${short(e)}), computed once in the session that ran it`;
  if (t.isCallExpression(e)) {
    if (e.expression.kind === t.SyntaxKind.ImportKeyword) return `it imports a module dynamically (${short(e)})`;
    const name = dottedName(e.expression);
    const pureBuiltin = name !== undefined && SHIPPABLE_CALLS.includes(name) && !lookup.isBound(name.split(".")[0]!);
    if (pureBuiltin || isDefinitionCall(e, lookup)) {
      // The callee chain of `t.int().default(1)` holds calls too: check their arguments.
      const inner = t.isPropertyAccessExpression(e.expression) && t.isCallExpression(e.expression.expression) ? expressionReason(e.expression.expression, lookup) : undefined;
      return inner ?? all(e.arguments);
    }
    return `its value is the result of calling ${short(e.expression)}(...), which runs again wherever the bundle loads`;
  }
  if (t.isNewExpression(e)) {
    const name = dottedName(e.expression);
    const args = e.arguments ?? [];
    if (name !== undefined && SHIPPABLE_CLASSES.includes(name) && !lookup.isBound(name)) {
      if (name === "Date" && args.length === 0) return "new Date() is the time the bundle loads, not the time it was built";
      return all(args);
    }
    return `its value is an object created by new ${short(e.expression)}(...): live state that cannot be shipped`;
  }
  if (t.isTaggedTemplateExpression(e)) return `its value is the result of the tagged template ${short(e)}`;
  if (t.isYieldExpression(e)) return "it yields";
  if (t.isDeleteExpression(e)) return `it deletes a property (${short(e)})`;
  return `its initializer is not a plain definition (${short(e)})`;
}
