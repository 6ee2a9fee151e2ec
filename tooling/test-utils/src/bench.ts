import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** One row of `bench/results/<package>.json` (shared/conventions.md). */
export interface BenchRow {
  id: string;
  value: number;
  unit: string;
  /** The comparison measured in the same run (e.g. plain undici, plain fs). */
  baseline?: number;
  /** value / baseline. Filled in by `writeBenchResults` when `baseline` is set. */
  ratio?: number;
  /** The goal for `ratio` (or for `value` when there is no baseline). Never asserted. */
  target?: number;
}

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");

/**
 * Writes `bench/results/<name>.json` at the repo root (or under
 * `$CLAWFT_BENCH_RESULTS`), adding `ratio`, `node` and `date` to every row, and
 * prints a short table. Returns the file path.
 */
export function writeBenchResults(name: string, rows: BenchRow[]): string {
  const dir = process.env.CLAWFT_BENCH_RESULTS ?? join(repoRoot, "bench", "results");
  mkdirSync(dir, { recursive: true });
  const date = new Date().toISOString();
  const out = rows.map((r) => ({
    ...r,
    ...(r.baseline !== undefined && r.baseline > 0 ? { ratio: r.value / r.baseline } : {}),
    node: process.version,
    date,
  }));
  const file = join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify(out, null, 2) + "\n");
  for (const r of out) {
    const extra = "ratio" in r && r.ratio !== undefined ? `  ratio ${r.ratio.toFixed(3)}` : "";
    const target = r.target === undefined ? "" : `  (target ${r.target})`;
    console.log(`${r.id.padEnd(50)} ${r.value.toPrecision(4).padStart(10)} ${r.unit}${extra}${target}`);
  }
  return file;
}
