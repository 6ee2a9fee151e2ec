// A plain Node process for bench/footprint.ts: argv[2] is JSON { mode: "bare" | "import" | "load",
// wasmPath?, cacheDir? }; prints one JSON line { rss, importMs }.
import { readFileSync } from "node:fs";

const { mode, wasmPath, cacheDir } = JSON.parse(process.argv[2]);
let importMs = 0;
if (mode !== "bare") {
  const t0 = performance.now();
  const { createHost } = await import("@clawft/host");
  importMs = performance.now() - t0;
  if (mode === "load") {
    const quiet = { error() {}, warn() {}, info() {}, debug() {}, trace() {} };
    const host = createHost({ logger: quiet, cacheDir });
    const manifest = { id: "bench.footprint", name: "footprint", version: "1.0.0", capabilities: ["tool"] };
    await host.load({ manifest, wasm: readFileSync(wasmPath) });
    console.log(JSON.stringify({ rss: process.memoryUsage().rss, importMs }));
    await host.close();
    process.exit(0);
  }
}
console.log(JSON.stringify({ rss: process.memoryUsage().rss, importMs }));
