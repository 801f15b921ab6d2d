/**
 * Summarizes V8 .cpuprofile files (from `node --cpu-prof`): the functions with
 * the most self time, the most inclusive time, and self time per file, with
 * compiled dist/ locations mapped back to the TypeScript sources through the
 * .js.map files tsc writes beside them.
 *
 * @example
 * ```sh
 * PETREL_BENCH_NO_RESPAWN=1 node --cpu-prof --cpu-prof-dir=/tmp/petrel-prof dist/bench/index.js overhead --no-peer
 * node dist/bench/cpu-profile.js /tmp/petrel-prof/*.cpuprofile [--top 30]
 * ```
 *
 * Profile without --expose-gc: the forced collections between repetitions
 * would otherwise show up as "(garbage collector)" self time.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Where the repository root is: dist/bench/ -> ../.. */
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const DEFAULT_TOP = 25;

const BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/** Decoded source map: per generated line, segments [generatedColumn, sourceIndex, sourceLine]. */
interface DecodedMap {
  sources: string[];
  lines: [number, number, number][][];
}

function decodeVlq(segment: string): number[] {
  const out: number[] = [];
  let value = 0;
  let shift = 0;
  for (const ch of segment) {
    const digit = BASE64.indexOf(ch);
    value += (digit & 31) << shift;
    if (digit & 32) shift += 5;
    else {
      out.push(value & 1 ? -(value >>> 1) : value >>> 1);
      value = 0;
      shift = 0;
    }
  }
  return out;
}

const maps = new Map<string, DecodedMap | undefined>();

function loadMap(file: string): DecodedMap | undefined {
  if (maps.has(file)) return maps.get(file);
  let decoded: DecodedMap | undefined;
  const mapFile = `${file}.map`;
  if (existsSync(mapFile)) {
    const raw = JSON.parse(readFileSync(mapFile, "utf8")) as { sources: string[]; mappings: string };
    const sources = raw.sources.map((s) => resolve(dirname(file), s));
    const lines: [number, number, number][][] = [];
    let src = 0;
    let srcLine = 0;
    for (const line of raw.mappings.split(";")) {
      let col = 0;
      const segs: [number, number, number][] = [];
      for (const seg of line.split(",")) {
        if (!seg) continue;
        const v = decodeVlq(seg);
        col += v[0]!;
        if (v.length >= 4) {
          src += v[1]!;
          srcLine += v[2]!;
          segs.push([col, src, srcLine]);
        }
      }
      lines.push(segs);
    }
    decoded = { sources, lines };
  }
  maps.set(file, decoded);
  return decoded;
}

/** `path:line` of a frame, relative to the repository, in TypeScript when a source map says so. */
function location(frame: CallFrame): string {
  if (!frame.url) return "";
  if (!frame.url.startsWith("file://")) return frame.url;
  const file = fileURLToPath(frame.url);
  const map = loadMap(file);
  const segs = map?.lines[frame.lineNumber];
  if (map && segs && segs.length > 0) {
    let best = segs[0]!;
    for (const s of segs) if (s[0] <= frame.columnNumber) best = s;
    return `${relative(ROOT, map.sources[best[1]]!)}:${best[2] + 1}`;
  }
  return `${relative(ROOT, file)}:${frame.lineNumber + 1}`;
}

function fileOf(loc: string): string {
  const i = loc.lastIndexOf(":");
  return i > 0 && /^\d+$/.test(loc.slice(i + 1)) ? loc.slice(0, i) : loc || "(native/V8)";
}

interface Entry {
  name: string;
  loc: string;
  self: number;
  total: number;
}

/** Self and inclusive time (µs) per function, over one profile. */
function analyze(profile: CpuProfile, into: Map<string, Entry>): number {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const selfById = new Map<number, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    selfById.set(id, (selfById.get(id) ?? 0) + dt);
    total += dt;
  });
  const keyOf = (n: ProfileNode) => {
    const loc = location(n.callFrame);
    return { key: `${n.callFrame.functionName || "(anonymous)"}@${loc}`, name: n.callFrame.functionName || "(anonymous)", loc };
  };
  const entry = (n: ProfileNode) => {
    const k = keyOf(n);
    let e = into.get(k.key);
    if (!e) into.set(k.key, (e = { name: k.name, loc: k.loc, self: 0, total: 0 }));
    return { e, key: k.key };
  };
  for (const [id, dt] of selfById) {
    const node = byId.get(id)!;
    entry(node).e.self += dt;
    // Inclusive: charge every distinct function on the stack once (recursion counted once).
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const { e, key } = entry(byId.get(cur)!);
      if (seen.has(key)) continue;
      seen.add(key);
      e.total += dt;
    }
  }
  return total;
}

function main(): void {
  const args = process.argv.slice(2);
  let top = DEFAULT_TOP;
  const files: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--top") top = Number(args[++i]);
    else files.push(args[i]!);
  }
  if (files.length === 0) {
    console.error("usage: node dist/bench/cpu-profile.js FILE.cpuprofile... [--top N]");
    process.exit(2);
  }
  const entries = new Map<string, Entry>();
  let total = 0;
  for (const f of files) total += analyze(JSON.parse(readFileSync(f, "utf8")) as CpuProfile, entries);
  const idle = [...entries.values()].filter((e) => e.name === "(idle)").reduce((a, e) => a + e.self, 0);
  const busy = total - idle;
  const pct = (us: number) => `${((100 * us) / busy).toFixed(1).padStart(5)}%`;
  const ms = (us: number) => `${(us / 1000).toFixed(0).padStart(6)} ms`;
  const list = [...entries.values()].filter((e) => e.name !== "(idle)" && e.name !== "(root)");
  console.log(`profile: ${files.length} file(s), ${(total / 1000).toFixed(0)} ms sampled, ${(busy / 1000).toFixed(0)} ms busy (percentages of busy time)`);
  console.log(`\ntop ${top} by self time`);
  for (const e of list.sort((a, b) => b.self - a.self).slice(0, top)) console.log(`${ms(e.self)} ${pct(e.self)}  ${e.name}  ${e.loc}`);
  console.log(`\ntop ${top} by inclusive time`);
  for (const e of list.sort((a, b) => b.total - a.total).slice(0, top)) console.log(`${ms(e.total)} ${pct(e.total)}  ${e.name}  ${e.loc}`);
  const perFile = new Map<string, number>();
  for (const e of list) perFile.set(fileOf(e.loc), (perFile.get(fileOf(e.loc)) ?? 0) + e.self);
  console.log(`\nself time by file`);
  for (const [f, us] of [...perFile].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${ms(us)} ${pct(us)}  ${f}`);
}

main();
