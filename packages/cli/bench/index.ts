/**
 * `pnpm bench` for @clawft/cli: wall time of `clawft-plugin run` of an installed plugin through
 * the built binary (a process per run, as a user or a script pays it), first run (compile cache
 * cold) and later runs (compile cache warm), against `node -e ""` measured in the same run.
 * Writes bench/results/cli.json. Short runs: the lead runs the full bench on a quiet machine.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { writeBenchResults, type BenchRow } from "@clawft/test-utils";
import { buildFixture, buildJsExamplePlugin, jsExampleManifest } from "@clawft/wasm-fixtures";
import { manifestFor, pluginFiles, writePluginFolder } from "../../host/test/lifecycle/helpers.js";

const BIN = fileURLToPath(new URL("../bin/clawft-plugin.js", import.meta.url));
const ROUNDS = Number(process.env.CLAWFT_BENCH_ROUNDS ?? 7);
const home = mkdtempSync(join(tmpdir(), "clawft-cli-bench-"));
const env = { PATH: process.env.PATH ?? "", HOME: home, CLAWFT_HOME: join(home, "data") };

function wall(args: readonly string[]): number {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, args, { env, encoding: "utf8" });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`${args.join(" ")} failed (${r.status}): ${r.stderr}`);
  return ms;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

try {
  const rows: BenchRow[] = [];
  const basic = await writePluginFolder(
    join(home, "src", "basic"),
    pluginFiles({ manifest: manifestFor({ tools: ["echo"] }), module: Buffer.from(await buildFixture("tool-basic")) }),
  );
  const js = join(home, "src", "js");
  await writePluginFolder(
    js,
    { manifest: Buffer.from(JSON.stringify(await jsExampleManifest("component"))), module: Buffer.from(await buildJsExamplePlugin()) },
    "dist/plugin.wasm",
  );
  wall([BIN, "install", basic]);
  wall([BIN, "install", js, "--yes", "--max-module-bytes", "2000000", "--max-module-gzip-bytes", "2000000"]);

  const node: number[] = [];
  for (let i = 0; i < ROUNDS; i++) node.push(wall(["-e", ""]));
  const nodeMs = median(node);
  rows.push({ id: "node -e baseline (ms)", value: nodeMs, unit: "ms" });

  for (const [name, id, tool, params] of [
    ["small component (tool-basic)", "com.example.weather", "echo", '{"a":1}'],
    ["1.1 MB componentize-qjs plugin", "dev.clawft.example-js-plugin", "greet", '{"name":"Ola"}'],
  ] as const) {
    const first = wall([BIN, "run", id, tool, params]);
    const later: number[] = [];
    for (let i = 0; i < ROUNDS; i++) later.push(wall([BIN, "run", id, tool, params]));
    const second = median(later);
    rows.push({ id: `run ${name}: first run, cache cold (ms)`, value: first, unit: "ms" });
    rows.push({ id: `run ${name}: later run, cache warm (ms)`, value: second, unit: "ms", target: 400 });
    rows.push({ id: `run ${name}: later run vs node -e`, value: second, unit: "ms", baseline: nodeMs });
  }
  writeBenchResults("cli", rows);
} finally {
  rmSync(home, { recursive: true, force: true });
}
