/**
 * Hibernation and idle-plugin memory bench (never asserts; writes
 * bench/results/host-hibernation.json). Each measure runs in a plain Node process
 * that imports only @clawft/host (bench/rss-child.mjs: no tsx, no fixture builder),
 * so its RSS is what an application would see:
 *  - process RSS with 100 loaded plugins, all idle and hibernated (`idleTimeoutMs`),
 *    next to the same process after its first load (the baseline row of the run);
 *  - the first call after a hibernation (a spare worker + glue + instantiation + init
 *    + the call), p50 and p95 over 20 wakes;
 *  - RSS per idle plugin that keeps its worker (no hibernation), and per bare Node
 *    worker (the floor of one worker per plugin).
 *
 * Usage: tsx bench/hibernation.ts [plugins]   (default 100)
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { writeBenchResults, type BenchRow } from "@clawft/test-utils";
import { buildFixture } from "@clawft/wasm-fixtures";

const COUNT = Number(process.argv[2] ?? 100);
const MiB = 1024 * 1024;
const child = fileURLToPath(new URL("./rss-child.mjs", import.meta.url));
const quantile = (xs: number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? 0;
};

interface ChildResult {
  before: number;
  after: number;
  count: number;
  wake?: number[];
}

function run(args: Record<string, unknown>): ChildResult {
  const out = execFileSync(process.execPath, ["--expose-gc", child, JSON.stringify(args)], { encoding: "utf8" });
  return JSON.parse(out.trim().split("\n").at(-1) ?? "{}") as ChildResult;
}

const dir = mkdtempSync(join(tmpdir(), "clawft-bench-hib-"));
const rows: BenchRow[] = [];
try {
  const wasmPath = join(dir, "tool-basic.wasm");
  writeFileSync(wasmPath, await buildFixture("tool-basic"));

  const hib = run({ wasmPath, count: COUNT, hostOptions: { idleTimeoutMs: 200 }, hibernate: true });
  const wake = hib.wake ?? [];
  console.log(
    `${COUNT} plugins hibernated: process RSS ${(hib.after / MiB).toFixed(0)} MiB (after the first load: ${(hib.before / MiB).toFixed(0)} MiB); ` +
      `first call after hibernation p50 ${quantile(wake, 0.5).toFixed(1)} ms, p95 ${quantile(wake, 0.95).toFixed(1)} ms`,
  );
  rows.push({ id: "rss-process-after-first-load", value: hib.before / MiB, unit: "MiB" });
  rows.push({ id: `rss-process-${COUNT}-plugins-hibernated`, value: hib.after / MiB, unit: "MiB", target: 250 });
  rows.push({ id: "rss-per-hibernated-plugin", value: (hib.after - hib.before) / COUNT / MiB, unit: "MiB", target: 6 });
  rows.push({ id: "first-call-after-hibernation-p50", value: quantile(wake, 0.5), unit: "ms", target: 25 });
  rows.push({ id: "first-call-after-hibernation-p95", value: quantile(wake, 0.95), unit: "ms" });

  const kept = run({ wasmPath, count: 16 });
  const perPlugin = (kept.after - kept.before) / kept.count / MiB;
  const bare = run({ wasmPath, count: 0, bareWorkers: 16 });
  const perWorker = (bare.after - bare.before) / bare.count / MiB;
  console.log(`idle plugin that keeps its worker: ${perPlugin.toFixed(2)} MiB; a bare Node worker: ${perWorker.toFixed(2)} MiB`);
  rows.push({ id: "rss-per-idle-plugin-worker-kept", value: perPlugin, unit: "MiB", target: 6 });
  rows.push({ id: "rss-per-bare-node-worker", value: perWorker, unit: "MiB" });
} finally {
  rmSync(dir, { recursive: true, force: true });
}
writeBenchResults("host-hibernation", rows);
