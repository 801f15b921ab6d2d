/**
 * The cells a notebook has run, as source files: each compiled cell's source is kept
 * under a virtual file name (`<dir>/cell-<execution count>.ts`) that its code runs
 * as, and is served to Petrel's code-closure analysis (`registerSourceProvider`), so
 * tasks defined in cells get cache versions from their code closures, and to the
 * bundle builder.
 *
 * INTEGRATION POINT (issue 3, kernel/bundle): when kernel/bundle provides
 * `createCellSources` and `buildBundle`, cells are also recorded there (that store
 * resolves names across cells and is what `buildBundle` reads); until then a plain
 * provider serves the cells' text. The contract assumed is written out in `BundleApi`.
 */
import { join, resolve } from "node:path";
import * as bundleModule from "../bundle/index.js";
import { registerSourceProvider, type SourceProvider } from "../bundle/index.js";

/** What the kernel uses of kernel/bundle's notebook support (looked up at run time, see the file comment). */
export interface BundleApi {
  createCellSources(options: { dir?: string }): CellSourceStore;
  buildBundle(roots: Readonly<Record<string, unknown>>, options: { sources?: unknown }): { hash: string; toString(): string };
}

/** kernel/bundle's record of a notebook's cells. */
export interface CellSourceStore {
  add(executionCount: number, source: string): string;
  readonly provider: SourceProvider;
}

/** kernel/bundle's notebook functions, when it has them. */
export function bundleApi(): Partial<BundleApi> {
  const api = bundleModule as unknown as Partial<BundleApi>;
  return {
    ...(typeof api.createCellSources === "function" ? { createCellSources: api.createCellSources } : {}),
    ...(typeof api.buildBundle === "function" ? { buildBundle: api.buildBundle } : {}),
  };
}

const CELL_FILE = /(?:^|\/)cell-(\d+)\.ts$/;

/** A notebook's compiled cells. */
export class CellRegistry {
  private readonly texts = new Map<string, string>();
  private readonly store: CellSourceStore | undefined;
  private readonly unregister: () => void;
  private scratch = 0;

  constructor(readonly dir: string) {
    this.dir = resolve(dir);
    const { createCellSources } = bundleApi();
    this.store = createCellSources?.({ dir: this.dir });
    // Ours first: it also serves the cell that is running now, whatever the store keeps.
    const own = registerSourceProvider((file: string) => this.texts.get(file));
    const theirs = this.store ? registerSourceProvider(this.store.provider) : undefined;
    this.unregister = () => {
      own();
      theirs?.();
    };
  }

  /** The virtual file of the cell run as `executionCount`. */
  fileOf(executionCount: number): string {
    return join(this.dir, `cell-${executionCount}.ts`);
  }

  /** Records a cell that compiled (magic lines blanked, so lines match) and returns its virtual file. */
  add(executionCount: number, source: string): string {
    const file = this.store?.add(executionCount, source) ?? this.fileOf(executionCount);
    this.texts.set(file, source);
    return file;
  }

  /**
   * Records code run outside the notebook's history (silent executions): it gets a
   * virtual file for stack traces but is not one of the notebook's cells.
   */
  addScratch(source: string): string {
    const file = join(this.dir, `scratch-${++this.scratch}.ts`);
    this.texts.set(file, source);
    return file;
  }

  /** A cell file's source. */
  get(file: string): string | undefined {
    return this.texts.get(file);
  }

  /** How a cell file reads in messages: `cell [3]`; undefined for other files. */
  label(file: string): string | undefined {
    const m = CELL_FILE.exec(file);
    return m && this.texts.has(file) ? `cell [${m[1]}]` : undefined;
  }

  /** What `buildBundle` reads (kernel/bundle's store), if kernel/bundle keeps one. */
  get sources(): CellSourceStore | undefined {
    return this.store;
  }

  /** Stops serving the cells. */
  dispose(): void {
    this.unregister();
  }
}
