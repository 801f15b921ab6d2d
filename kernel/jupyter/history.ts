/**
 * Input history for `history_request`: `tail`, `range` and `search`, as IPython
 * answers them. Entries are `[session, line, input]`, or `[session, line, [input,
 * output]]` when outputs are asked for; `line` is the execution count. History is kept
 * for the kernel's lifetime (one session, numbered 1).
 */

/** The number of this kernel's (only) history session. */
export const HISTORY_SESSION = 1;

/** One executed input. */
interface Entry {
  line: number;
  input: string;
  /** The execute_result's text/plain, if any. */
  output: string | null;
}

/** A history_request's content. */
export interface HistoryQuery {
  output?: boolean;
  hist_access_type?: string;
  session?: number;
  start?: number;
  stop?: number;
  n?: number | null;
  pattern?: string;
  unique?: boolean;
}

/** One history reply entry. */
export type HistoryEntry = [number, number, string | [string, string | null]];

/** Executed inputs, in order. */
export class History {
  private readonly entries: Entry[] = [];

  /** Records an input stored under `line` (its execution count). */
  add(line: number, input: string): void {
    this.entries.push({ line, input, output: null });
  }

  /** Records the text output of the input stored under `line`. */
  setOutput(line: number, output: string): void {
    const entry = this.entries.findLast((e) => e.line === line);
    if (entry) entry.output = output;
  }

  /** Answers a history request. */
  query(q: HistoryQuery): HistoryEntry[] {
    let found: Entry[];
    switch (q.hist_access_type) {
      case "tail":
        found = q.n ? this.entries.slice(-q.n) : [...this.entries];
        break;
      case "range": {
        // Session 0 and negative sessions mean "the current one" in IPython; only ours exists.
        if (q.session !== undefined && q.session > 0 && q.session !== HISTORY_SESSION) return [];
        const start = q.start ?? 0;
        const stop = q.stop ?? Number.POSITIVE_INFINITY;
        found = this.entries.filter((e) => e.line >= start && e.line < stop);
        break;
      }
      case "search": {
        const re = globToRegExp(q.pattern ?? "*");
        found = this.entries.filter((e) => re.test(e.input));
        if (q.unique) {
          const seen = new Set<string>();
          found = found.reverse().filter((e) => !seen.has(e.input) && seen.add(e.input)).reverse();
        }
        if (q.n) found = found.slice(-q.n);
        break;
      }
      default:
        return [];
    }
    return found.map((e) => [HISTORY_SESSION, e.line, q.output ? [e.input, e.output] : e.input]);
  }
}

/** IPython's search patterns are globs over the whole input (`*` and `?`). */
function globToRegExp(glob: string): RegExp {
  const body = glob.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, "[\\s\\S]*").replace(/\?/g, "[\\s\\S]");
  return new RegExp(`^${body}$`);
}
