/**
 * The kernel's cell compiler. It takes the place of tslab's converter (tslab's
 * executor runs what it produces) and keeps tslab's model: every cell is a module
 * type-checked against the declarations of the cells before it, its top-level names
 * are exported, and references to earlier cells' names read `exports.name`. What it
 * does differently is what makes a cell cost milliseconds instead of tens:
 *
 * - One compiler pass per cell, straight to CommonJS with its source map, on a plain
 *   `ts.Program` whose files and module resolutions are kept across cells, with
 *   TypeScript's lib and @types/node bundled into one file (compiler-host.ts) — no
 *   watch program, no builder state, no second program to find the cell's names, no
 *   second transpile to CommonJS.
 * - Declarations are not one `__prev__.d.ts` regenerated and reparsed for every cell.
 *   Each cell that declares something adds a small declaration file (a "scope") whose
 *   parent is the previous one, so names resolve innermost first: a later cell's
 *   `x` shadows an earlier `x`, a type and a value of one name come from the cells
 *   that last declared each. A cell that declares nothing changes no file but its own,
 *   and TypeScript reuses the whole program structure. The chain is compacted as it
 *   grows, so a long session's cells cost what a short one's do.
 * - A scope becomes the notebook's only when the cell ran: tslab's executor hands back
 *   the scope id of the last cell that succeeded.
 * - `exports.` is added only to identifiers whose symbol is a top-level declaration of
 *   an earlier cell (tslab also rewrote property names that happened to match, so
 *   `const { orders: n } = f()` broke once a cell had declared `orders`), and a
 *   shorthand property `{ orders }` becomes `{ orders: exports.orders }`.
 */
import { relative } from "node:path";
import type * as TS from "@tslab/typescript-for-tslab";
import type { CompletionInfo, ConvertResult, Converter, Diagnostic, DiagnosticPos, SideOutput } from "tslab/dist/converter.js";
import type { CodeMetadata } from "tslab/dist/metadata.js";
import { bundleLibraries, createCellHost, nodeLib, type CellHost } from "./compiler-host.js";
import { GLOBALS_TYPE_PACKAGE, type Overlay } from "./resolution.js";
import type { Tiering } from "./tiering.js";

/** A converted cell, with the source map from its code to the cell (after PREFIX). */
export interface CompiledCell extends ConvertResult {
  sourceMap?: string;
}

/** Makes a cell a module, so its names are its own; one line, before the cell's first. */
export const PREFIX = "export {};\n";

/** Codes of diagnostics that only say a cell awaits at its top level, which the executor supports. */
const TOP_LEVEL_AWAIT = new Set([1375, 1378, 1431, 1432]);
/** Codes of diagnostics after which cached resolutions are dropped and the cell is compiled again. */
const UNRESOLVED = new Set([2307, 2792, 6053]);
const LAST_EXPRESSION = "__petrel_last";
const SOURCE_MAP_COMMENT = /\n?\/\/# sourceMappingURL=.*$/;

/** The top-level declarations of a cell that ran, seen by the cells after it. */
interface Scope {
  id: string;
  path: string;
  /** The declarations, without PREFIX. */
  text: string;
  parent: Scope | undefined;
  file: () => TS.SourceFile | undefined;
  /** What the declarations declare (name to MEANING bits) and every identifier they mention; read when compacting. */
  names?: Map<string, number>;
  mentions?: Set<string>;
}

/** Meanings of a declared name, as far as shadowing goes. */
const MEANING = { value: 1, type: 2, namespace: 4, all: 7 } as const;
/** How many sample cells `prepare()` compiles, and what they look like: declarations, functions, classes, imports, generics. */
const WARM_UP_CELLS = 30;
const WARM_UP_SAMPLES: readonly ((i: number) => string)[] = [
  (i) => `1 + ${i}`,
  (i) => `const sample${i} = [1, 2, 3].map((x) => x * ${i});\nsample${i}.length`,
  (i) => `function sample${i}(x: number): number {\n  let acc = 0;\n  for (let k = 0; k < x; k++) acc += k * ${i};\n  return acc;\n}`,
  (i) => `class Sample${i}<T> { constructor(readonly items: T[]) {}\n  get size(): number { return this.items.length; } }\nnew Sample${i}(["a"]).size`,
  (i) => `import { join } from "node:path";\nconst { a, b: renamed } = { a: 1, b: "${i}" };\njoin(String(a), renamed)`,
  (i) => `interface Row${i} { id: number; name?: string }\nconst rows${i}: Row${i}[] = [{ id: ${i} }];\nawait Promise.resolve(rows${i}.filter((r) => r.id > 0))`,
];
/** Scopes the chain may grow by before it is compacted again. */
const COMPACT_EVERY = 24;

const NO_CANCELLATION: TS.CancellationToken = {
  isCancellationRequested: () => false,
  throwIfCancellationRequested: () => undefined,
};

/** Options of `new CellCompiler()`. */
export interface CellCompilerOptions {
  /** The notebook's folder: imports resolve from here. */
  cwd: string;
  overlay: Overlay;
  /** Where the layout of the bundled libraries is kept between kernels (none: found anew each time). */
  cacheDir?: string;
}

/** Compiles cells for tslab's executor. */
export class CellCompiler implements Converter {
  private readonly ts: typeof TS;
  private readonly cwd: string;
  private readonly host: CellHost;
  /** The options of TypeScript's own program for a cell; cells are compiled with the bundle's. */
  private readonly natural: TS.CompilerOptions;
  private readonly cacheDir: string | undefined;
  private options: TS.CompilerOptions;
  /** The bundled libraries and the modules they need, first in every program; loaded on first use. */
  private libraries: readonly string[] | undefined;
  private readonly cellPath: string;
  private program: TS.Program | undefined;
  private readonly scopes = new Map<string, Scope>();
  /** Every name any scope declares: identifiers with other names are never earlier cells' declarations. */
  private readonly scopeNames = new Set<string>();
  private readonly scopePaths = new Set<string>();
  /** The scope of the last cell compiled, until the executor says whether it ran. */
  private pending: Scope | undefined;
  private nextScope = 1;
  private nextFile = 1;
  /** The chain length at which it is compacted next. */
  private compactAt = COMPACT_EVERY;
  /** In-memory `@module` files, by path. */
  private readonly modules = new Set<string>();
  /** The source file each local module was last emitted from. */
  private readonly emitted = new Map<string, TS.SourceFile>();

  constructor(ts: typeof TS, options: CellCompilerOptions) {
    this.ts = ts;
    this.cwd = options.cwd;
    this.cellPath = `${options.cwd}/__petrel_cell__.ts`;
    const dirs = options.overlay;
    this.natural = {
      module: ts.ModuleKind.CommonJS,
      moduleResolution: ts.ModuleResolutionKind.Bundler,
      esModuleInterop: true,
      target: ts.ScriptTarget.ES2022,
      lib: nodeLib(),
      sourceMap: true,
      newLine: ts.NewLineKind.LineFeed,
      noImplicitUseStrict: true,
      experimentalDecorators: true,
      resolveJsonModule: true,
      jsx: ts.JsxEmit.React,
      allowJs: true,
      checkJs: true,
      skipLibCheck: true,
      outDir: "/__petrel_out__",
      typeRoots: ts.getDefaultTypeRoots(options.cwd, { directoryExists: (p) => dirs.isDirectory(p) || ts.sys.directoryExists(dirs.real(p) ?? p) }),
    };
    this.options = this.natural;
    this.cacheDir = options.cacheDir;
    this.host = createCellHost(ts, options.cwd, options.overlay, this.natural);
  }

  /**
   * Does the work of the first cells ahead of them, in steps that let the event loop
   * run in between: bundles the libraries, parses and binds them, then compiles a few
   * sample cells so that V8 has compiled TypeScript's hot paths before the notebook's
   * own cells arrive (about 0.2 s; in process, it mostly speeds up the first few
   * cells). The samples stop as soon as `signal` aborts. Each step runs through `run` (the kernel's compiler tiering, tiering.ts).
   */
  async prepare(signal?: AbortSignal, run: Tiering = (work) => work()): Promise<void> {
    await tick();
    run(() => this.loadLibraries());
    await tick();
    run(() => this.build(undefined, PREFIX).program.getTypeChecker());
    for (let i = 0; i < WARM_UP_CELLS && !signal?.aborted; i++) {
      await tick();
      run(() => this.compile(undefined, WARM_UP_SAMPLES[i % WARM_UP_SAMPLES.length]!(i)));
    }
    await tick();
  }

  private loadLibraries(): readonly string[] {
    if (!this.libraries) {
      const bundle = bundleLibraries(this.ts, this.host, this.natural, this.cwd, ["node", GLOBALS_TYPE_PACKAGE], this.cacheDir);
      this.options = bundle.options;
      this.libraries = bundle.roots;
    }
    return this.libraries;
  }

  convert(prevDecl: string, src: string): CompiledCell {
    const head = this.settle(prevDecl);
    const { result, names, declarations } = this.compile(head, src);
    if (result.diagnostics.length > 0 || names.length === 0) return { ...result, declOutput: prevDecl };
    const scope = this.addScope(head, declarations);
    for (const name of names) this.scopeNames.add(name);
    this.pending = scope;
    return { ...result, declOutput: scope.id };
  }

  /** Type-checks and compiles `src` on `head`'s declarations; changes nothing but what the notebook's own modules were last emitted from. */
  private compile(head: Scope | undefined, src: string): { result: CompiledCell; names: string[]; declarations: string } {
    const ts = this.ts;
    const names = declaredNames(ts, src);
    const text = `${PREFIX}${src}${names.length > 0 ? `\nexport { ${names.join(", ")} };` : ""}`;
    const { program, cell, diagnostics, changed } = this.check(head, text);
    if (diagnostics.length > 0) return { result: { diagnostics: diagnostics.map((d) => this.toDiagnostic(d)) }, names, declarations: "" };

    const sideOutputs: SideOutput[] = [];
    for (const file of changed) {
      let js = "";
      program.emit(file, (name, data) => {
        if (name.endsWith(".js")) js = data.replace(SOURCE_MAP_COMMENT, "");
      });
      sideOutputs.push({ path: file.fileName.replace(/\.[cm]?[jt]sx?$/, ".js"), data: js });
      this.emitted.set(file.fileName, file);
    }

    const checker = program.getTypeChecker();
    let output = "";
    let sourceMap: string | undefined;
    let declarations = "";
    let lastExpressionVar: string | undefined;
    program.emit(
      cell,
      (name, data) => {
        if (name.endsWith(".js.map")) sourceMap = data;
        else if (name.endsWith(".js")) output = data.replace(SOURCE_MAP_COMMENT, "");
      },
      undefined,
      false,
      {
        before: [(context) => (file) => this.keepLastExpression(context, file, names, (name) => (lastExpressionVar = name))],
        after: [(context) => (file) => this.readEarlierCells(context, checker, file)],
      },
    );
    // Only a cell that declares something needs its declarations (forced: the options leave them off).
    if (names.length > 0) {
      const write = (name: string, data: string) => void (name.endsWith(".d.ts") && (declarations = data));
      const withoutExportStatements = () => (file: TS.SourceFile | TS.Bundle) => (ts.isSourceFile(file) ? withoutExports(ts, file) : file);
      const emit = program.emit as (...args: [...Parameters<TS.Program["emit"]>, forceDtsEmit: boolean]) => TS.EmitResult;
      emit.call(program, cell, write, undefined, true, { afterDeclarations: [withoutExportStatements] }, true);
    }
    const result: CompiledCell = {
      output,
      diagnostics: [],
      hasToplevelAwait: awaitsAtTopLevel(ts, cell),
      sideOutputs: sideOutputs.length > 0 ? sideOutputs : undefined,
      lastExpressionVar,
      sourceMap,
    };
    return { result, names, declarations };
  }

  /** Parses and binds the libraries again, with their documentation (once; hovers show it). */
  loadLibraryDocs(): void {
    if (this.host.loadLibraryDocs() && this.libraries) this.build(undefined, PREFIX).program.getTypeChecker();
  }

  inspect(prevDecl: string, src: string, position: number): TS.QuickInfo {
    this.host.loadLibraryDocs();
    const { program, cell } = this.build(this.scopes.get(prevDecl), PREFIX + src);
    const info = this.ts.getQuickInfoAtPosition(cell, program.getTypeChecker(), NO_CANCELLATION, position + PREFIX.length);
    if (info?.textSpan) info.textSpan.start -= PREFIX.length;
    return info as TS.QuickInfo;
  }

  complete(prevDecl: string, src: string, position: number): CompletionInfo {
    const ts = this.ts;
    const { program, cell } = this.build(this.scopes.get(prevDecl), PREFIX + src);
    const at = position + PREFIX.length;
    const info = ts.Completions.getCompletionsAtPositionForTslab(
      {} as TS.LanguageServiceHost,
      program,
      () => undefined,
      cell,
      at,
      {},
      undefined,
      ts.CompletionTriggerKind.Invoked,
      NO_CANCELLATION,
    ) as TS.CompletionInfo | undefined;
    const entries = info?.entries ?? [];
    // The identifier being typed (just before or around the cursor) is what the candidates complete.
    const prev = ts.findPrecedingToken(at, cell);
    const next = prev ? ts.findNextToken(prev, cell, cell) : undefined;
    const word = prev && ts.isIdentifier(prev) && prev.end >= at ? prev : next && ts.isIdentifier(next) && next.getStart(cell) <= at && at <= next.end ? next : undefined;
    if (!word) {
      const sorted = [...entries].sort((a, b) => a.sortText.localeCompare(b.sortText) || a.name.localeCompare(b.name));
      return { start: position, end: position, candidates: sorted.map((e) => e.name) };
    }
    const typed = word.text;
    const lower = typed.toLowerCase();
    const rank = (name: string) => (name.startsWith(typed) ? "0" : name.toLowerCase().startsWith(lower) ? "1" : name.toLowerCase().includes(lower) ? "2" : "");
    const ranked = entries
      .map((e, index) => ({ name: e.name, rank: rank(e.name), sortText: e.sortText, index }))
      .filter((e) => e.rank !== "")
      .sort((a, b) => (a.rank + a.sortText).localeCompare(b.rank + b.sortText) || a.index - b.index);
    return { start: word.getStart(cell) - PREFIX.length, end: word.end - PREFIX.length, candidates: ranked.map((e) => e.name) };
  }

  addModule(name: string, content: string, meta?: CodeMetadata): Diagnostic[] {
    if (!/^\w+$/.test(name)) throw new Error(`invalid module name: ${JSON.stringify(name)} (letters, digits and _ only)`);
    const path = `${this.cwd}/${name}${meta?.jsx ? ".tsx" : ".ts"}`;
    this.host.setVirtual(path, PREFIX + content);
    this.modules.add(path);
    // Modules see no cell's declarations, so any scope will do to check one.
    const { program } = this.build(undefined, PREFIX);
    const file = program.getSourceFile(path)!;
    const diagnostics = [...program.getSyntacticDiagnostics(file), ...program.getSemanticDiagnostics(file)];
    return diagnostics.map((d) => this.toDiagnostic(d));
  }

  close(): void {
    this.program = undefined;
  }

  /** The scope a cell builds on: the executor's `prevDecl` says whether the last cell's scope was kept. */
  private settle(prevDecl: string): Scope | undefined {
    const pending = this.pending;
    this.pending = undefined;
    if (pending && pending.id !== prevDecl) this.dropScope(pending);
    if (prevDecl === "") return undefined;
    const scope = this.scopes.get(prevDecl);
    if (!scope) throw new Error(`the kernel lost the declarations of earlier cells (scope ${prevDecl})`);
    return scope === pending ? this.compact(scope) : scope;
  }

  private addScope(parent: Scope | undefined, declarations: string, id = `petrel-scope-${this.nextScope++}`): Scope {
    const path = `${this.cwd}/__petrel_scope_${this.nextFile++}__.d.ts`;
    const scope: Scope = { id, path, text: declarations, parent, file: () => this.host.getSourceFile(path, this.ts.ScriptTarget.ES2022) };
    this.host.setVirtual(path, PREFIX + declarations, parent?.file);
    this.scopes.set(id, scope);
    this.scopePaths.add(path);
    return scope;
  }

  private dropScope(scope: Scope): void {
    if (this.scopes.get(scope.id) === scope) this.scopes.delete(scope.id);
    this.scopePaths.delete(scope.path);
    this.host.setVirtual(scope.path, undefined);
  }

  /**
   * Keeps the chain of scopes short, so a cell's program has few files however long
   * the session: scopes whose every name a later scope redeclares (a cell run again)
   * are dropped when nothing in between mentions those names, and runs of scopes that
   * neither redeclare nor mention each other's names are merged into one file. Both
   * leave every name resolving to the declaration it resolved to before. Returns the
   * head, whose id stays the same.
   */
  private compact(head: Scope): Scope {
    const chain: Scope[] = [];
    for (let s: Scope | undefined = head; s; s = s.parent) chain.push(s);
    if (chain.length < this.compactAt) return head;
    chain.reverse();
    const alive: Scope[] = [];
    for (const [k, scope] of chain.entries()) {
      if (k === chain.length - 1 || !this.shadowed(chain, k)) alive.push(scope);
      else this.dropScope(scope);
    }
    const groups: Scope[][] = [];
    for (const scope of alive) {
      const group = groups.at(-1);
      const { names } = this.describe(scope);
      if (group && ![...names.keys()].some((name) => group.some((member) => this.describe(member).mentions.has(name)))) group.push(scope);
      else groups.push([scope]);
    }
    let parent: Scope | undefined;
    for (const group of groups) {
      let scope = group[0]!;
      if (group.length > 1) {
        for (const member of group) this.dropScope(member);
        scope = this.addScope(parent, group.map((m) => m.text).join("\n"), group.at(-1)!.id);
        scope.names = new Map(group.flatMap((m) => [...this.describe(m).names]));
        scope.mentions = new Set(group.flatMap((m) => [...this.describe(m).mentions]));
      } else if (scope.parent !== parent) {
        scope.parent = parent;
        this.host.setVirtual(scope.path, PREFIX + scope.text, parent?.file);
      }
      parent = scope;
    }
    this.compactAt = groups.length + COMPACT_EVERY;
    return parent!;
  }

  /** Whether every name of `chain[k]` is redeclared, with all its meanings, by a later scope before any scope mentions it. */
  private shadowed(chain: readonly Scope[], k: number): boolean {
    for (const [name, meaning] of this.describe(chain[k]!).names) {
      let covered = false;
      for (let r = k + 1; r < chain.length && !covered; r++) {
        const { names, mentions } = this.describe(chain[r]!);
        const later = names.get(name);
        if (later !== undefined && (later & meaning) === meaning) covered = true;
        else if (mentions.has(name)) return false;
      }
      if (!covered) return false;
    }
    return true;
  }

  private describe(scope: Scope): { names: Map<string, number>; mentions: Set<string> } {
    if (!scope.names || !scope.mentions) {
      const ts = this.ts;
      const file = ts.createSourceFile(scope.path, scope.text, ts.ScriptTarget.ES2022, false);
      const names = topLevelDeclarations(ts, file);
      const mentions = new Set<string>();
      const visit = (node: TS.Node): void => {
        if (ts.isIdentifier(node)) mentions.add(node.text);
        ts.forEachChild(node, visit);
      };
      visit(file);
      scope.names = names;
      scope.mentions = mentions;
    }
    return { names: scope.names, mentions: scope.mentions };
  }

  /** A program with `text` as the cell, on `head`'s declarations. */
  private build(head: Scope | undefined, text: string): { program: TS.Program; cell: TS.SourceFile } {
    this.host.setVirtual(this.cellPath, text, head?.file);
    const chain: string[] = [];
    for (let s = head; s; s = s.parent) chain.push(s.path);
    const rootNames = [...this.loadLibraries(), ...this.modules, ...chain.reverse(), this.cellPath];
    const program = this.ts.createProgram({ rootNames, options: this.options, host: this.host, oldProgram: this.program });
    this.program = program;
    return { program, cell: program.getSourceFile(this.cellPath)! };
  }

  /** Builds and type-checks the cell and the notebook's own modules it imports that changed since they were last run. */
  private check(head: Scope | undefined, text: string, retried = false): { program: TS.Program; cell: TS.SourceFile; diagnostics: TS.Diagnostic[]; changed: TS.SourceFile[] } {
    const { program, cell } = this.build(head, text);
    const changed = this.changedModules(program, cell);
    let diagnostics: TS.Diagnostic[] = [...program.getSyntacticDiagnostics(cell), ...changed.flatMap((f) => program.getSyntacticDiagnostics(f))];
    if (diagnostics.length === 0) {
      diagnostics = [
        ...program.getSemanticDiagnostics(cell).filter((d) => !TOP_LEVEL_AWAIT.has(d.code)),
        ...changed.flatMap((f) => program.getSemanticDiagnostics(f)),
      ];
    }
    if (!retried && diagnostics.some((d) => UNRESOLVED.has(d.code))) {
      // A package installed or a file created since it was first looked for.
      this.host.forgetResolutions();
      this.program = undefined;
      return this.check(head, text, true);
    }
    return { program, cell, diagnostics, changed };
  }

  /** The notebook's own modules (files and `@module` cells) the cell imports, directly or not, whose code changed since it last ran. */
  private changedModules(program: TS.Program, cell: TS.SourceFile): TS.SourceFile[] {
    const seen = new Set<TS.SourceFile>();
    const visit = (file: TS.SourceFile) => {
      const resolved = (file as { resolvedModules?: { forEach(cb: (r: { resolvedModule?: TS.ResolvedModuleFull }) => void): void } }).resolvedModules;
      resolved?.forEach(({ resolvedModule: r }) => {
        if (!r || r.isExternalLibraryImport || r.extension === this.ts.Extension.Dts || r.extension === this.ts.Extension.Json) return;
        const dep = program.getSourceFile(r.resolvedFileName);
        if (!dep || seen.has(dep) || dep.isDeclarationFile) return;
        seen.add(dep);
        visit(dep);
      });
    };
    visit(cell);
    return [...seen].filter((f) => this.emitted.get(f.fileName) !== f);
  }

  /** Replaces the cell's last expression statement by an assignment the executor reads the cell's value from. */
  private keepLastExpression(context: TS.TransformationContext, file: TS.SourceFile, names: readonly string[], use: (name: string) => void): TS.SourceFile {
    const ts = this.ts;
    const f = context.factory;
    const statements = file.statements;
    for (let i = statements.length - 1; i >= 0; i--) {
      const statement = statements[i]!;
      if (ts.isExportDeclaration(statement)) continue;
      if (!ts.isExpressionStatement(statement)) return file;
      let name = LAST_EXPRESSION;
      while (names.includes(name)) name += "_";
      use(name);
      const assign = f.createExpressionStatement(f.createAssignment(f.createPropertyAccessExpression(f.createIdentifier("exports"), name), statement.expression));
      ts.setTextRange(assign, statement);
      return f.updateSourceFile(file, [...statements.slice(0, i), assign, ...statements.slice(i + 1)]);
    }
    return file;
  }

  /** Makes references to earlier cells' declarations read them from `exports`, where the executor keeps them. */
  private readEarlierCells(context: TS.TransformationContext, checker: TS.TypeChecker, file: TS.SourceFile): TS.SourceFile {
    const ts = this.ts;
    const f = context.factory;
    const earlier = (node: TS.Identifier): boolean => {
      if (!this.scopeNames.has(node.text)) return false;
      const original = ts.getParseTreeNode(node);
      if (!original || !ts.isIdentifier(original)) return false;
      const symbol = ts.isShorthandPropertyAssignment(original.parent)
        ? checker.getShorthandAssignmentValueSymbol(original.parent)
        : checker.getSymbolAtLocation(original);
      const declaration = symbol?.declarations?.[0];
      if (!symbol || !declaration) return false;
      const home = declaration.getSourceFile() as TS.SourceFile & { locals?: Map<string, TS.Symbol> };
      return this.scopePaths.has(home.fileName) && home.locals?.get(symbol.escapedName as string) === symbol;
    };
    const read = (node: TS.Identifier) => f.createPropertyAccessExpression(f.createIdentifier("exports"), node.text);
    const visit = (node: TS.Node): TS.Node => {
      if (ts.isIdentifier(node)) return earlier(node) ? read(node) : node;
      if (ts.isShorthandPropertyAssignment(node) && earlier(node.name)) return f.createPropertyAssignment(node.name.text, read(node.name));
      if (ts.isPropertyAccessExpression(node)) return f.updatePropertyAccessExpression(node, ts.visitNode(node.expression, visit) as TS.Expression, node.name);
      return ts.visitEachChild(node, visit, context);
    };
    return ts.visitEachChild(file, visit, context);
  }

  private toDiagnostic(d: TS.Diagnostic): Diagnostic {
    const ts = this.ts;
    const file = d.file!;
    const prefixed = file.fileName === this.cellPath || this.modules.has(file.fileName);
    const at = (offset: number): DiagnosticPos => {
      const { line, character } = ts.getLineAndCharacterOfPosition(file, offset);
      return prefixed ? { offset: offset - PREFIX.length, line: line - 1, character } : { offset, line, character };
    };
    const start = d.start ?? 0;
    return {
      start: at(start),
      end: at(start + (d.length ?? 0)),
      messageText: ts.flattenDiagnosticMessageText(d.messageText, "\n"),
      category: d.category,
      code: d.code,
      ...(file.fileName === this.cellPath ? {} : { fileName: relative(this.cwd, file.fileName) }),
    };
  }
}

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

/** The names a cell declares at its top level (not those it exports itself). */
function declaredNames(ts: typeof TS, src: string): string[] {
  // Parsed as the cell file is (.ts), so a generic arrow function is not read as JSX.
  const file = ts.createSourceFile("cell.ts", src, ts.ScriptTarget.ES2022, false, ts.ScriptKind.TS);
  return [...topLevelDeclarations(ts, file, { skipExported: true }).keys()];
}

/** The names a file declares at its top level, each with its MEANING bits. */
function topLevelDeclarations(ts: typeof TS, file: TS.SourceFile, { skipExported = false } = {}): Map<string, number> {
  const names = new Map<string, number>();
  const declare = (name: string, meaning: number) => names.set(name, (names.get(name) ?? 0) | meaning);
  const bind = (name: TS.BindingName) => {
    if (ts.isIdentifier(name)) declare(name.text, MEANING.value);
    else for (const e of name.elements) if (!ts.isOmittedExpression(e)) bind(e.name);
  };
  for (const s of file.statements) {
    if (skipExported && ts.canHaveModifiers(s) && ts.getModifiers(s)?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword)) continue;
    if (ts.isVariableStatement(s)) for (const d of s.declarationList.declarations) bind(d.name);
    else if (ts.isFunctionDeclaration(s) && s.name) declare(s.name.text, MEANING.value);
    else if ((ts.isClassDeclaration(s) || ts.isEnumDeclaration(s)) && s.name) declare(s.name.text, MEANING.value | MEANING.type);
    else if (ts.isInterfaceDeclaration(s) || ts.isTypeAliasDeclaration(s)) declare(s.name.text, MEANING.type);
    else if (ts.isModuleDeclaration(s) && ts.isIdentifier(s.name)) declare(s.name.text, MEANING.all);
    else if (ts.isImportEqualsDeclaration(s)) declare(s.name.text, MEANING.all);
    else if (ts.isImportDeclaration(s) && s.importClause) {
      const { name, namedBindings } = s.importClause;
      if (name) declare(name.text, MEANING.all);
      if (namedBindings && ts.isNamespaceImport(namedBindings)) declare(namedBindings.name.text, MEANING.all);
      else if (namedBindings) for (const e of namedBindings.elements) declare(e.name.text, MEANING.all);
    }
  }
  return names;
}

/** Whether a cell awaits outside any function: the executor then runs it as an async function. */
function awaitsAtTopLevel(ts: typeof TS, file: TS.SourceFile): boolean {
  const visit = (node: TS.Node): boolean => {
    if (ts.isFunctionLike(node) || ts.isClassLike(node) || ts.isModuleDeclaration(node)) return false;
    if (ts.isAwaitExpression(node) || (ts.isForOfStatement(node) && node.awaitModifier !== undefined)) return true;
    return ts.forEachChild(node, visit) ?? false;
  };
  return ts.forEachChild(file, visit) ?? false;
}

/** A declaration file without its export statements: its names stay its own, visible through the scope chain. */
function withoutExports(ts: typeof TS, file: TS.SourceFile): TS.SourceFile {
  return ts.factory.updateSourceFile(
    file,
    file.statements.filter((s) => !ts.isExportDeclaration(s) && !ts.isExportAssignment(s)),
  );
}
