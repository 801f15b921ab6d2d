/**
 * Free references of a piece of code: the identifiers it reads that no enclosing
 * scope inside it declares. Lexical scopes are followed exactly (functions with
 * hoisted `var`s and parameters, blocks, loops, catch clauses, class and named
 * function-expression names, enums, namespaces), so a helper shadowed in one inner
 * function is still reported where it is used free elsewhere. Types are skipped:
 * they never affect behaviour and are erased from shipped code.
 */
import type * as TS from "typescript";
import { bindingNames, typescript } from "./typescript.js";

/** One free use of a name. */
export interface FreeReference {
  readonly name: string;
  /** The identifier node; in `{ name }` shorthand, the property's name. */
  readonly node: TS.Identifier;
  /** True for `{ name }`: renaming it must write `name: renamed`. */
  readonly shorthand: boolean;
}

class Scope {
  readonly names = new Set<string>();
  constructor(readonly parent: Scope | undefined) {}
  has(name: string): boolean {
    return this.names.has(name) || (this.parent?.has(name) ?? false);
  }
}

/** Every free reference inside `root`, in source order. `root`'s own name (a function's, a class's) is not bound by it. */
export function freeReferences(root: TS.Node): FreeReference[] {
  const t = typescript();
  const out: FreeReference[] = [];

  const isFunctionLike = (n: TS.Node): n is TS.SignatureDeclaration & { body?: TS.Node } =>
    t.isFunctionDeclaration(n) ||
    t.isFunctionExpression(n) ||
    t.isArrowFunction(n) ||
    t.isMethodDeclaration(n) ||
    t.isConstructorDeclaration(n) ||
    t.isGetAccessorDeclaration(n) ||
    t.isSetAccessorDeclaration(n);

  /** Block-level bindings of a statement list: let, const, class, function, enum, namespace. */
  const declareLexical = (statements: readonly TS.Statement[], scope: Scope): void => {
    for (const s of statements) {
      if (t.isVariableStatement(s)) {
        for (const d of s.declarationList.declarations) for (const n of bindingNames(d.name)) scope.names.add(n);
      } else if ((t.isFunctionDeclaration(s) || t.isClassDeclaration(s)) && s.name) {
        scope.names.add(s.name.text);
      } else if ((t.isEnumDeclaration(s) || t.isModuleDeclaration(s)) && t.isIdentifier(s.name)) {
        scope.names.add(s.name.text);
      }
    }
  };

  /** `var` declarations anywhere in a function body, not crossing into nested functions or classes. */
  const collectVars = (n: TS.Node, scope: Scope): void => {
    if (t.isVariableDeclarationList(n) && !(n.flags & (t.NodeFlags.Let | t.NodeFlags.Const | t.NodeFlags.Using))) {
      for (const d of n.declarations) for (const name of bindingNames(d.name)) scope.names.add(name);
    }
    if (isFunctionLike(n) || t.isClassLike(n) || t.isClassStaticBlockDeclaration(n)) return;
    t.forEachChild(n, (c) => collectVars(c, scope));
  };

  const reference = (id: TS.Identifier, scope: Scope, shorthand = false): void => {
    if (!scope.has(id.text)) out.push({ name: id.text, node: id, shorthand });
  };

  /** A binding name's computed keys and default values are expressions; its identifiers are not references. */
  const visitBinding = (name: TS.BindingName, scope: Scope): void => {
    if (t.isIdentifier(name)) return;
    for (const el of name.elements) {
      if (t.isOmittedExpression(el)) continue;
      if (el.propertyName && t.isComputedPropertyName(el.propertyName)) visit(el.propertyName.expression, scope);
      visitBinding(el.name, scope);
      if (el.initializer) visit(el.initializer, scope);
    }
  };

  const visitFunction = (n: TS.SignatureDeclaration & { body?: TS.Node }, outer: Scope): void => {
    if (n.name && t.isComputedPropertyName(n.name)) visit(n.name.expression, outer);
    for (const d of t.canHaveDecorators(n) ? (t.getDecorators(n) ?? []) : []) visit(d, outer);
    if (!n.body) return; // an overload signature: types only
    const scope = new Scope(outer);
    if (t.isFunctionExpression(n) && n.name) scope.names.add(n.name.text);
    if (!t.isArrowFunction(n)) scope.names.add("arguments");
    for (const p of n.parameters) for (const name of bindingNames(p.name)) scope.names.add(name);
    if (t.isBlock(n.body)) {
      collectVars(n.body, scope);
      declareLexical(n.body.statements, scope);
    }
    for (const p of n.parameters) {
      for (const d of t.getDecorators(p) ?? []) visit(d, outer);
      visitBinding(p.name, scope);
      if (p.initializer) visit(p.initializer, scope);
    }
    if (t.isBlock(n.body)) for (const s of n.body.statements) visit(s, scope);
    else visit(n.body, scope);
  };

  const visit = (n: TS.Node, scope: Scope): void => {
    // Types first: `class A extends B` is an ExpressionWithTypeArguments, which TypeScript counts as a type node.
    if (t.isExpressionWithTypeArguments(n)) {
      visit(n.expression, scope);
      return;
    }
    if (
      t.isTypeNode(n) ||
      t.isTypeAliasDeclaration(n) ||
      t.isInterfaceDeclaration(n) ||
      t.isTypeParameterDeclaration(n) ||
      t.isIndexSignatureDeclaration(n) ||
      (t.isHeritageClause(n) && n.token === t.SyntaxKind.ImplementsKeyword) ||
      t.isImportDeclaration(n) ||
      t.isExportDeclaration(n) ||
      t.isImportEqualsDeclaration(n) ||
      (t.canHaveModifiers(n) && t.getModifiers(n)?.some((m) => m.kind === t.SyntaxKind.DeclareKeyword))
    ) {
      return;
    }
    if (t.isIdentifier(n)) {
      reference(n, scope);
      return;
    }
    if (isFunctionLike(n)) {
      visitFunction(n, scope);
      return;
    }
    if (t.isClassDeclaration(n) || t.isClassExpression(n)) {
      for (const d of t.getDecorators(n) ?? []) visit(d, scope);
      const inner = new Scope(scope);
      if (n.name) inner.names.add(n.name.text);
      for (const h of n.heritageClauses ?? []) visit(h, inner);
      for (const m of n.members) visit(m, inner);
      return;
    }
    if (t.isClassStaticBlockDeclaration(n)) {
      const inner = new Scope(scope);
      collectVars(n.body, inner);
      declareLexical(n.body.statements, inner);
      for (const s of n.body.statements) visit(s, inner);
      return;
    }
    if (t.isPropertyDeclaration(n)) {
      for (const d of t.getDecorators(n) ?? []) visit(d, scope);
      if (t.isComputedPropertyName(n.name)) visit(n.name.expression, scope);
      if (n.initializer) visit(n.initializer, scope);
      return;
    }
    if (t.isBlock(n) || t.isModuleBlock(n) || t.isSourceFile(n)) {
      const inner = new Scope(scope);
      declareLexical(n.statements, inner);
      for (const s of n.statements) visit(s, inner);
      return;
    }
    if (t.isCaseBlock(n)) {
      const inner = new Scope(scope);
      for (const c of n.clauses) declareLexical(c.statements, inner);
      for (const c of n.clauses) visit(c, inner);
      return;
    }
    if (t.isForStatement(n) || t.isForInStatement(n) || t.isForOfStatement(n)) {
      const inner = new Scope(scope);
      if (n.initializer && t.isVariableDeclarationList(n.initializer)) {
        for (const d of n.initializer.declarations) for (const name of bindingNames(d.name)) inner.names.add(name);
      }
      t.forEachChild(n, (c) => visit(c, inner));
      return;
    }
    if (t.isCatchClause(n)) {
      const inner = new Scope(scope);
      if (n.variableDeclaration) {
        for (const name of bindingNames(n.variableDeclaration.name)) inner.names.add(name);
        visitBinding(n.variableDeclaration.name, inner);
      }
      visit(n.block, inner);
      return;
    }
    if (t.isVariableDeclaration(n)) {
      visitBinding(n.name, scope);
      if (n.initializer) visit(n.initializer, scope);
      return;
    }
    if (t.isEnumDeclaration(n)) {
      const inner = new Scope(scope);
      for (const m of n.members) if (t.isIdentifier(m.name) || t.isStringLiteral(m.name)) inner.names.add(m.name.text);
      for (const m of n.members) if (m.initializer) visit(m.initializer, inner);
      return;
    }
    if (t.isModuleDeclaration(n)) {
      if (n.body) visit(n.body, scope);
      return;
    }
    if (t.isPropertyAccessExpression(n)) {
      // tslab compiles a reference to an earlier cell's declaration as `exports.name`:
      // it reads `name`, as far as the closure is concerned.
      if (t.isIdentifier(n.expression) && n.expression.text === "exports" && t.isIdentifier(n.name) && !scope.has("exports")) {
        reference(n.name, scope);
        return;
      }
      visit(n.expression, scope);
      return;
    }
    if (t.isPropertyAssignment(n)) {
      if (t.isComputedPropertyName(n.name)) visit(n.name.expression, scope);
      visit(n.initializer, scope);
      return;
    }
    if (t.isShorthandPropertyAssignment(n)) {
      reference(n.name, scope, true);
      if (n.objectAssignmentInitializer) visit(n.objectAssignmentInitializer, scope);
      return;
    }
    if (t.isEnumMember(n) || t.isMetaProperty(n) || t.isBreakOrContinueStatement(n)) return;
    if (t.isLabeledStatement(n)) {
      visit(n.statement, scope);
      return;
    }
    if (t.isJsxAttribute(n)) {
      if (n.initializer) visit(n.initializer, scope);
      return;
    }
    t.forEachChild(n, (c) => visit(c, scope));
  };

  visit(root, new Scope(undefined));
  return out;
}

/** The names `root` reads free, without duplicates. */
export function freeNames(root: TS.Node): Set<string> {
  return new Set(freeReferences(root).map((r) => r.name));
}
