// A plain Node process that imports only @clawft/host (no tsx, no fixture builder), for RSS
// measurements (run by bench/hibernation.ts). argv[2]: JSON { wasmPath, count, hostOptions,
// hibernate, bareWorkers }; prints one JSON line.
import { readFileSync } from "node:fs";
import { Worker } from "node:worker_threads";
import { setTimeout as sleep } from "node:timers/promises";
import { createHost } from "@clawft/host";

const { wasmPath, count, hostOptions = {}, hibernate = false, bareWorkers = 0 } = JSON.parse(process.argv[2]);
const wasm = readFileSync(wasmPath);
const quiet = { error() {}, warn() {}, info() {}, debug() {}, trace() {} };
const manifest = (id) => ({ id, name: id, version: "1.0.0", capabilities: ["tool"] });
const rss = async () => {
  globalThis.gc?.();
  await sleep(300);
  return process.memoryUsage().rss;
};
if (bareWorkers > 0) {
  // The floor: a Node worker that loads nothing, with the host's default limits
  // (measured alone, before any host exists: freed memory would hide it).
  const base = await rss();
  const workers = [];
  for (let i = 0; i < bareWorkers; i++) {
    // It stays alive waiting for a message, as a spare does.
    const w = new Worker("const { parentPort } = require('node:worker_threads'); parentPort.once('message', () => {}); parentPort.postMessage(1);", {
      eval: true,
      env: {},
      execArgv: [],
      argv: [],
      resourceLimits: { maxOldGenerationSizeMb: 128, maxYoungGenerationSizeMb: 16, stackSizeMb: 4 },
    });
    await new Promise((r) => w.once("message", r));
    workers.push(w);
  }
  await sleep(1000);
  console.log(JSON.stringify({ before: base, after: await rss(), count: bareWorkers }));
  process.exit(0);
}
const host = createHost({ logger: quiet, ...hostOptions });
await (await host.load({ manifest: manifest("bench.rss.warm"), wasm })).close();
await sleep(500);
const before = await rss();
const plugins = [];
for (let i = 0; i < count; i++) {
  const p = await host.load({ manifest: manifest(`bench.rss${i}`), wasm });
  await p.executeTool("echo", i);
  plugins.push(p);
}
if (hibernate) {
  const deadline = Date.now() + 60_000;
  while (plugins.some((p) => p.hibernations === 0) && Date.now() < deadline) await sleep(50);
}
await sleep(1000);
const after = await rss();
const out = { before, after, count };
if (hibernate) {
  // First call after a hibernation, one plugin at a time (each wake takes the spare; it is replaced between two).
  const wake = [];
  for (let i = 0; i < Math.min(20, count); i++) {
    await sleep(150);
    const t = performance.now();
    await plugins[i].executeTool("echo", i);
    wake.push(performance.now() - t);
  }
  out.wake = wake;
}
await host.close();
console.log(JSON.stringify(out));
