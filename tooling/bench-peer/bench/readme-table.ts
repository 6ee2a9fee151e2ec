/**
 * Prints the "Compared with Extism" table of packages/host/README.md from
 * bench/results/peer.json; with `--write`, replaces the table between the README's
 * `<!-- peer-table:start -->` and `<!-- peer-table:end -->` markers.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

interface Row {
  id: string;
  value: number;
  unit: string;
  baseline?: number;
  ratio?: number;
  target?: number;
  node?: string;
  date?: string;
}

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const resultsPath = join(process.env.CLAWFT_BENCH_RESULTS ?? join(root, "bench", "results"), "peer.json");
const readmePath = join(root, "packages", "host", "README.md");
const START = "<!-- peer-table:start -->";
const END = "<!-- peer-table:end -->";

const rows = JSON.parse(readFileSync(resultsPath, "utf8")) as Row[];
const fmt = (x: number): string => (Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 10 ? x.toFixed(1) : x.toPrecision(2));
const byId = new Map(rows.map((r) => [r.id, r]));

/** One line per measure: clawft, then each Extism release's value and the ratio. */
const lines = [
  "| measure | clawft | Extism 1.0.3 (ratio) | Extism 2.0.0-rc13 (ratio) | target |",
  "|---|---:|---:|---:|---|",
];
const measures = new Set(rows.filter((r) => r.id.includes("-vs-extism-")).map((r) => r.id.replace(/-vs-extism-.*$/, "")));
for (const measure of measures) {
  const v1 = byId.get(`${measure}-vs-extism-1.0.3`);
  const v2 = byId.get(`${measure}-vs-extism-2.0.0-rc13`);
  const any = v1 ?? v2;
  if (!any) continue;
  const cell = (r: Row | undefined) => (r?.baseline === undefined ? "" : `${fmt(r.baseline)} (${r.ratio === undefined ? "" : `${r.ratio.toFixed(2)}×`})`);
  const target = any.target === undefined ? "" : `ratio ≤ ${any.target}`;
  lines.push(`| ${measure.replace(/^peer-/, "")} (${any.unit}) | ${fmt(any.value)} | ${cell(v1)} | ${cell(v2)} | ${target} |`);
}
const rounds = byId.get("peer-run-rounds")?.value;
for (const r of rows.filter((r) => r.id.startsWith("peer-clawft-"))) {
  const goal = r.target === undefined ? "" : r.unit === "fraction" ? `≥ ${r.target}` : `≤ ${r.target} ${r.unit}`;
  lines.push(`| ${r.id.replace(/^peer-clawft-/, "clawft ")} (${r.unit}) | ${fmt(r.value)} | | | ${goal} |`);
}
const first = rows[0];
const roundsText = rounds === undefined ? "" : rounds === 1 ? ", one round (a --quick run)" : `, medians of ${rounds} rounds`;
lines.push("", `Run of ${first?.date?.slice(0, 10) ?? "?"}, Node ${first?.node ?? "?"}${roundsText} (\`bench/results/peer.json\`).`);
const table = lines.join("\n");

if (process.argv.includes("--write")) {
  const readme = readFileSync(readmePath, "utf8");
  const start = readme.indexOf(START);
  const end = readme.indexOf(END);
  if (start < 0 || end < start) throw new Error(`${readmePath} has no ${START} … ${END} markers`);
  writeFileSync(readmePath, `${readme.slice(0, start + START.length)}\n${table}\n${readme.slice(end)}`);
  console.log(`wrote the table into ${readmePath}`);
} else {
  console.log(table);
}
