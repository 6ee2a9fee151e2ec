/**
 * @clawft/host footprint bench (never asserts; writes bench/results/host-footprint.json).
 * Each figure in a fresh child process (bench/footprint-child.mjs, plain node, no tsx), the
 * median of RUNS, with a bare `node` process of the same run as the baseline:
 *  - RSS after `import("@clawft/host")` (target: at most 60 MiB);
 *  - RSS after the first cached load of a tiny plugin (tool-basic; the cache filled by an
 *    earlier process; target: at most 90 MiB);
 *  - cold import time of `@clawft/host` (target: at most 150 ms).
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { writeBenchResults, type BenchRow } from "@clawft/test-utils";
import { fixture } from "../test/helpers.js";

const RUNS = Number(process.env.CLAWFT_FOOTPRINT_RUNS ?? 5);
const MiB = 1024 * 1024;
const child = fileURLToPath(new URL("./footprint-child.mjs", import.meta.url));
const cwd = fileURLToPath(new URL("..", import.meta.url));

function runChild(args: object): { rss: number; importMs: number } {
  const out = execFileSync(process.execPath, [child, JSON.stringify(args)], { cwd, encoding: "utf8" });
  return JSON.parse(out.trim().split("\n").pop() as string) as { rss: number; importMs: number };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

const dir = mkdtempSync(join(tmpdir(), "clawft-footprint-"));
try {
  const wasmPath = join(dir, "tool-basic.wasm");
  writeFileSync(wasmPath, await fixture("tool-basic"));
  const cacheDir = join(dir, "cache");
  runChild({ mode: "load", wasmPath, cacheDir }); // fills the cache
  const bare: number[] = [];
  const imported: number[] = [];
  const importMs: number[] = [];
  const loaded: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    bare.push(runChild({ mode: "bare" }).rss);
    const imp = runChild({ mode: "import" });
    imported.push(imp.rss);
    importMs.push(imp.importMs);
    loaded.push(runChild({ mode: "load", wasmPath, cacheDir }).rss);
  }
  const rows: BenchRow[] = [
    { id: "footprint-rss-bare-node", value: median(bare) / MiB, unit: "MiB" },
    { id: "footprint-rss-after-import", value: median(imported) / MiB, unit: "MiB", baseline: median(bare) / MiB, target: 60 },
    { id: "footprint-rss-after-first-cached-load", value: median(loaded) / MiB, unit: "MiB", baseline: median(bare) / MiB, target: 90 },
    { id: "footprint-cold-import", value: median(importMs), unit: "ms", target: 150 },
  ];
  writeBenchResults("host-footprint", rows);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
