/**
 * The example pipeline: synthetic customer data -> cleaned -> two models trained in
 * parallel -> the better one kept as a file. Run it with `npm start`, or import it
 * into a notebook cell.
 */
import { writeFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DataFrame } from "danfojs-node";
import { map, t, task, workflow } from "../../kernel/index.js";

/** Deterministic pseudo-random numbers, so the same seed gives the same data. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let r = Math.imul(a ^ (a >>> 15), 1 | a);
    r = (r + Math.imul(r ^ (r >>> 7), 61 | r)) ^ r;
    return ((r ^ (r >>> 14)) >>> 0) / 4294967296;
  };
}

/** Generates `rows` customers: age, income, region and whether they churned. */
export const generate = task(
  {
    name: "generate",
    inputs: { rows: t.int(), seed: t.int() },
    outputs: { raw: t.dataframe() },
    cache: true,
  },
  ({ rows, seed }) => {
    const rand = mulberry32(seed);
    const age: number[] = [];
    const income: number[] = [];
    const region: string[] = [];
    const churned: boolean[] = [];
    for (let i = 0; i < rows; i++) {
      const a = Math.floor(12 + rand() * 70);
      const inc = Math.round(20_000 + a * 900 + rand() * 30_000);
      age.push(a);
      income.push(inc);
      region.push(["north", "south", "east", "west"][Math.floor(rand() * 4)]!);
      churned.push(rand() < 0.2 + (a < 30 ? 0.3 : 0));
    }
    return { raw: new DataFrame({ age, income, region, churned }) };
  },
);

/** Keeps adults only. */
export const clean = task(
  {
    name: "clean",
    inputs: { raw: t.dataframe(), minAge: t.int() },
    outputs: { df: t.dataframe() },
    cache: true,
    retries: 2,
    timeout: "10m",
    resources: { requests: { cpu: "2", mem: "150Mi" }, limits: { gpu: 1 } },
  },
  ({ raw, minAge }) => ({ df: raw.query(raw["age"].gt(minAge)) }),
);

/** Churn rate in the cleaned data, per region. */
export const summarize = task(
  {
    name: "summarize",
    inputs: { df: t.dataframe() },
    outputs: { churnByRegion: t.map(t.float()) },
    cache: true,
  },
  ({ df }) => {
    const regions = df["region"].values as string[];
    const churned = df["churned"].values as boolean[];
    const totals: Record<string, [number, number]> = {};
    regions.forEach((r, i) => {
      const tot = (totals[r] ??= [0, 0]);
      tot[0] += churned[i] ? 1 : 0;
      tot[1] += 1;
    });
    return { churnByRegion: Object.fromEntries(Object.entries(totals).map(([r, [c, n]]) => [r, round(c / n)])) };
  },
);

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

/** Fits a one-feature logistic model of churn by gradient descent. */
export const train = task(
  {
    name: "train",
    inputs: { df: t.dataframe(), feature: t.enum(["age", "income"]), epochs: t.int() },
    outputs: { accuracy: t.float(), weights: t.list(t.float()) },
    cache: true,
  },
  ({ df, feature, epochs }) => {
    const xs = (df[feature].values as number[]).map(Number);
    const ys = (df["churned"].values as boolean[]).map((b) => (b ? 1 : 0));
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
    const sd = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length) || 1;
    const z = xs.map((x) => (x - mean) / sd);
    let w = 0;
    let b = 0;
    for (let e = 0; e < epochs; e++) {
      let gw = 0;
      let gb = 0;
      for (let i = 0; i < z.length; i++) {
        const p = 1 / (1 + Math.exp(-(w * z[i]! + b)));
        gw += (p - ys[i]!) * z[i]!;
        gb += p - ys[i]!;
      }
      w -= (0.5 * gw) / z.length;
      b -= (0.5 * gb) / z.length;
    }
    const correct = z.filter((zi, i) => (1 / (1 + Math.exp(-(w * zi + b))) > 0.5 ? 1 : 0) === ys[i]).length;
    return { accuracy: round(correct / z.length), weights: [w, b, mean, sd] };
  },
);

/** Writes the better model to a file. */
export const pick = task(
  {
    name: "pick",
    inputs: { features: t.list(t.string()), accuracies: t.list(t.float()), weights: t.list(t.list(t.float())) },
    outputs: { model: t.file(), best: t.string() },
    cache: true,
  },
  ({ features, accuracies, weights }) => {
    const i = accuracies.indexOf(Math.max(...accuracies));
    const path = join(mkdtempSync(join(tmpdir(), "petrel-model-")), "model.json");
    writeFileSync(path, JSON.stringify({ feature: features[i], accuracy: accuracies[i], weights: weights[i] }, null, 2));
    return { model: path, best: features[i]! };
  },
);

/** The whole pipeline. */
export const training = workflow(
  {
    name: "training",
    inputs: { rows: t.int().default(20_000), seed: t.int().default(7), minAge: t.int().default(18) },
    outputs: { model: t.file(), best: t.string(), churnByRegion: t.map(t.float()) },
  },
  ({ rows, seed, minAge }) => {
    const { raw } = generate({ rows, seed });
    const { df } = clean({ raw, minAge });
    const features = ["age", "income"] as ("age" | "income")[];
    const fits = map(train)({ df, feature: features, epochs: 200 });
    const summary = summarize({ df });
    const chosen = pick({ features, accuracies: fits.accuracy, weights: fits.weights });
    return { model: chosen.model, best: chosen.best, churnByRegion: summary.churnByRegion };
  },
);
