#!/usr/bin/env node
// Runs every package's `bench` script one after another (never in parallel: the
// machine is small and shared, and ratios need quiet neighbours), packages/* first,
// then tooling/* (the Extism peer bench), then lists the JSON files written under
// bench/results/.
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync, existsSync } from "node:fs";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const resultsDir = join(root, "bench", "results");
let failed = 0;
const benchDirs = ["packages", "tooling"].flatMap((group) =>
  readdirSync(join(root, group))
    .sort()
    .map((name) => join(root, group, name)),
);
for (const dir of benchDirs) {
  const pkgPath = join(dir, "package.json");
  if (!existsSync(pkgPath)) continue;
  const pkg = JSON.parse(readFileSync(pkgPath, "utf8"));
  if (!pkg.scripts?.bench || !existsSync(join(dir, "bench"))) continue;
  console.log(`\n== bench ${pkg.name}`);
  const r = spawnSync("pnpm", ["run", "bench"], { cwd: dir, stdio: "inherit", env: { ...process.env, CLAWFT_BENCH_RESULTS: resultsDir } });
  if (r.status !== 0) failed++;
}
console.log(`\nresults in ${resultsDir}:`);
for (const f of readdirSync(resultsDir).filter((f) => f.endsWith(".json"))) {
  const rows = JSON.parse(readFileSync(join(resultsDir, f), "utf8"));
  for (const r of rows) {
    const ratio = r.ratio === undefined ? "" : ` ratio ${r.ratio.toFixed(3)}${r.target === undefined ? "" : ` (target ${r.target})`}`;
    console.log(`  ${f.padEnd(22)} ${r.id.padEnd(48)} ${String(r.value.toPrecision(4)).padStart(10)} ${r.unit}${ratio}`);
  }
}
process.exit(failed ? 1 : 0);
