/**
 * The ESM loader `petrel register file.ts` installs (`module.register`) so that a
 * TypeScript module can be imported in-process by Node 20, which cannot run .ts:
 *
 * - `resolve`: `petrel` and `petrel/<sub>` are this package's own dist entry points
 *   (its package.json "exports"), so the entities a file defines are made by the
 *   very kernel the CLI bundles and registers them with; a relative `./x.js` that
 *   does not exist is `./x.ts` (NodeNext sources import `.js`); and a relative
 *   import of Petrel's own sources (`../../kernel/index.js` from an example in this
 *   repository) is the built file under dist/, for the same reason.
 * - `load`: `.ts` and `.mts` files are transpiled to ES modules with
 *   `typescript.transpileModule`, with an inline source map, so stack traces (and
 *   the call sites that tasks record) name the .ts file and its lines.
 *
 * The hooks run on Node's loader thread; they read files synchronously, which is fine
 * for a CLI that imports one module tree once.
 */
import { existsSync, readFileSync } from "node:fs";
import type { LoadHook, ResolveHook } from "node:module";
import { dirname, join, relative, sep } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import ts from "typescript";

/** The package root: this file is dist/cli/ts-loader.js. */
const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
/** Folders of the package whose sources have a build under dist/. */
const SOURCE_FOLDERS = new Set(["kernel", "remote", "backend", "cli"]);
const PACKAGE = "petrel";

type Exports = Record<string, string | { default?: string; import?: string }>;

/** `petrel`, `petrel/remote`, … → the file URL of the built entry point, from package.json "exports". */
const entryPoints: Map<string, string> = (() => {
  const out = new Map<string, string>();
  let exports: Exports = {};
  try {
    exports = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { exports?: Exports }).exports ?? {};
  } catch {
    // No package.json next to the build: leave `petrel` to Node's own resolution.
  }
  for (const [key, target] of Object.entries(exports)) {
    const file = typeof target === "string" ? target : (target.import ?? target.default);
    if (!file || !file.endsWith(".js")) continue;
    out.set(key === "." ? PACKAGE : `${PACKAGE}/${key.replace(/^\.\//, "")}`, pathToFileURL(join(ROOT, file)).href);
  }
  return out;
})();

/** The built counterpart of one of Petrel's own source files (kernel/x.ts → dist/kernel/x.js), when it exists. */
function builtCounterpart(file: string): string | undefined {
  const rel = relative(ROOT, file);
  if (rel.startsWith("..") || rel.startsWith(`dist${sep}`)) return undefined;
  if (!SOURCE_FOLDERS.has(rel.split(sep)[0]!)) return undefined;
  const built = join(ROOT, "dist", rel.replace(/\.(ts|js)$/, ".js"));
  return existsSync(built) ? built : undefined;
}

/** A relative file that does not exist as written: its .ts source, or Petrel's build of it. */
function mapFile(file: string): string | undefined {
  if (existsSync(file) && !file.endsWith(".ts")) return undefined;
  const candidates = file.endsWith(".js") ? [file.slice(0, -3) + ".ts"] : file.endsWith(".mjs") ? [file.slice(0, -4) + ".mts"] : /\.[mc]?ts$/.test(file) ? [file] : [`${file}.ts`, join(file, "index.ts")];
  for (const candidate of candidates) {
    if (!existsSync(candidate)) continue;
    return builtCounterpart(candidate) ?? candidate;
  }
  return undefined;
}

export const resolve: ResolveHook = (specifier, context, nextResolve) => {
  const entry = entryPoints.get(specifier);
  if (entry) return { url: entry, format: "module", shortCircuit: true };
  const parent = context.parentURL;
  if (parent?.startsWith("file:") && (specifier.startsWith("./") || specifier.startsWith("../"))) {
    const file = fileURLToPath(new URL(specifier, parent));
    const mapped = mapFile(file);
    if (mapped) return { url: pathToFileURL(mapped).href, format: /\.[mc]?ts$/.test(mapped) ? "module" : undefined, shortCircuit: true };
  }
  return nextResolve(specifier, context);
};

export const load: LoadHook = (url, context, nextLoad) => {
  if (!url.startsWith("file:") || !/\.m?ts$/.test(new URL(url).pathname)) return nextLoad(url, context);
  const file = fileURLToPath(url);
  const { outputText } = ts.transpileModule(readFileSync(file, "utf8"), {
    fileName: file,
    compilerOptions: {
      module: ts.ModuleKind.ESNext,
      target: ts.ScriptTarget.ES2022,
      // Type-only imports are erased either way; unused imports too (as tsc does without verbatimModuleSyntax).
      verbatimModuleSyntax: false,
      isolatedModules: true,
      esModuleInterop: true,
      inlineSourceMap: true,
      inlineSources: true,
    },
  });
  return { format: "module", source: outputText, shortCircuit: true };
};
