/**
 * @clawft/host bench (never asserts; writes bench/results/host.json):
 *  - host-call round trip through the worker (guest → get-env → guest), next to the
 *    same import called in-thread (the same component transpiled by jco and
 *    instantiated on the main thread with a plain JS import: once through jco's
 *    trampolines, once through the host's direct lowering), measured in one run;
 *  - executeTool of an empty tool on a loaded plugin (p50);
 *  - load of a cached plugin (worker start and init included) and of an uncached
 *    ~300 KB one (transpile + metering + compile + worker);
 *  - the first call after the plugin's worker crashed, for a first and a later crash (with
 *    and without a spare worker);
 *  - RSS per idle loaded plugin, above its linear memory.
 */
import { transpileComponent } from "../src/runtime/transpile.js";
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { createHost, WORKER_CHANNEL, type Plugin, type WorkerEvent } from "@clawft/host";
import { writeBenchResults, type BenchRow } from "@clawft/test-utils";
import { buildFixture } from "@clawft/wasm-fixtures";
import { Bench } from "tinybench";
import { lowerHostImports, type HostFunctions } from "../src/runtime/host-lowering.js";
import { fixtureWithTools } from "../test/helpers.js";
import { bigComponent } from "./big-component.js";

const quiet = { error() {}, warn() {}, info() {}, debug() {}, trace() {} };
const rows: BenchRow[] = [];
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
};
const manifest = (id: string, extra: Record<string, unknown> = {}) => ({
  id,
  name: id,
  version: "1.0.0",
  capabilities: ["tool"],
  ...extra,
});

// ---- host-call round trip -------------------------------------------------------------
const slowWasm = await fixtureWithTools("slow-host-call", ["env", "log"]);
{
  const host = createHost({ logger: quiet });
  const p = await host.load({ manifest: manifest("bench.hostcall"), wasm: slowWasm });
  const N = 2000;
  // In-thread baseline: the same component, jco glue instantiated here, a plain import.
  const out = await transpileComponent(slowWasm);
  // The same glue patch the host applies (jco 1.35 reads process.env on every _debugLog call).
  const glueText = Buffer.from(out.files["plugin.js"] as Uint8Array)
    .toString("utf8")
    .split("if (!globalThis?.process?.env?.JCO_DEBUG) { return; }")
    .join("return;");
  const dataUrl = `data:text/javascript;base64,${Buffer.from(glueText).toString("base64")}`;
  const glue = (await import(dataUrl)) as {
    instantiate: (
      g: (n: string) => Promise<WebAssembly.Module>,
      i: unknown,
      instantiateCore?: (m: WebAssembly.Module, i?: WebAssembly.Imports) => WebAssembly.Instance,
    ) => Promise<{ plugin: { executeTool(t: string, p: string): string; init(): void } }>;
  };
  const fns: HostFunctions = {
    getEnv: () => undefined,
    log: () => undefined,
    readFile: () => ({ tag: "ok", val: "" }),
    writeFile: () => ({ tag: "ok", val: undefined }),
    httpRequest: () => ({ tag: "ok", val: "" }),
    refuse: () => "refused",
  };
  const compile = (n: string): Promise<WebAssembly.Module> => WebAssembly.compile(out.files[n] as Uint8Array<ArrayBuffer>);
  // Baseline 1: jco's own trampolines, in-thread.
  const inThread = await glue.instantiate(compile, { host: fns });
  // Baseline 2: the host's direct lowering (what the worker uses), in-thread.
  const direct = await glue.instantiate(compile, { host: fns }, (m, imports = {}) => {
    const lowered = lowerHostImports(m, imports, fns, new Set(["http-request", "read-file", "write-file", "get-env", "log"]));
    const instance = new WebAssembly.Instance(m, lowered?.imports ?? imports);
    lowered?.attach(instance);
    return instance;
  });
  direct.plugin.init();
  inThread.plugin.init();

  /** µs per host call: a batch of N get-env calls minus an empty batch (the tool call's own cost). */
  const perCall = async (runTool: (params: string) => unknown): Promise<number> => {
    let t = performance.now();
    await runTool(JSON.stringify([N, "BENCH_VAR"]));
    const full = performance.now() - t;
    t = performance.now();
    await runTool(JSON.stringify([0, "BENCH_VAR"]));
    return ((full - (performance.now() - t)) / N) * 1000;
  };
  const perCallWorker: number[] = [];
  const perCallInThread: number[] = [];
  const perCallDirect: number[] = [];
  for (let round = 0; round < 60; round++) {
    perCallWorker.push(await perCall((params) => p.executeTool("env", JSON.parse(params))));
    perCallInThread.push(await perCall((params) => inThread.plugin.executeTool("env", params)));
    perCallDirect.push(await perCall((params) => direct.plugin.executeTool("env", params)));
  }
  const baseline = median(perCallInThread.slice(10));
  rows.push({ id: "host-call-round-trip-in-thread-import", value: baseline, unit: "µs/call" });
  rows.push({ id: "host-call-in-thread-direct-lowering", value: median(perCallDirect.slice(10)), unit: "µs/call" });
  rows.push({
    id: "host-call-round-trip-worker-get-env-p50",
    value: median(perCallWorker.slice(10)),
    unit: "µs/call",
    baseline,
    target: 5,
  });
  await host.close();
}

// ---- executeTool of an empty tool ----------------------------------------------------
{
  const host = createHost({ logger: quiet });
  const p = await host.load({ manifest: manifest("bench.empty"), wasm: await buildFixture("empty-tool") });
  const bench = new Bench({ time: 4_000, warmupTime: 500 });
  bench.add("executeTool empty-tool", async () => {
    await p.executeTool("run", null);
  });
  await bench.run();
  const r = bench.tasks[0]?.result;
  if (r?.state !== "completed") throw new Error("empty-tool bench failed");
  rows.push({ id: "executeTool-empty-tool-p50", value: r.latency.p50 * 1000, unit: "µs/op", target: 50 });
  await host.close();
}

// ---- loads ---------------------------------------------------------------------------
// With the default spare worker (booted ahead, so the load mostly waits for the glue,
// instantiation and init) and with `spareWorkers: 0` (the whole worker boot in the path).
for (const spareWorkers of [1, 0]) {
  const wasm = await buildFixture("tool-basic");
  const host = createHost({ logger: quiet, spareWorkers });
  await (await host.load({ manifest: manifest("bench.warm"), wasm })).close(); // warm the compile cache
  const times: number[] = [];
  for (let i = 0; i < 15; i++) {
    const t = performance.now();
    const p = await host.load({ manifest: manifest(`bench.cached${i}`), wasm });
    times.push(performance.now() - t);
    await p.close();
    // Give the next spare time to boot, as between two loads in an application.
    await new Promise((r) => setTimeout(r, 150));
  }
  if (spareWorkers === 1) {
    rows.push({ id: "load-cached-plugin-incl-worker-start", value: median(times), unit: "ms", target: 60 });
  } else {
    rows.push({ id: "load-cached-plugin-incl-worker-boot-no-spare", value: median(times), unit: "ms" });
  }
  await host.close();
}
{
  // A ~300 KB component, a fresh one each time, so every load misses every cache.
  const makeBig = (salt: number) => bigComponent(salt);
  for (const spareWorkers of [1, 0]) {
    const host = createHost({ logger: quiet, maxModuleBytes: 1024 * 1024, maxModuleGzipBytes: 1024 * 1024, spareWorkers });
    await (await host.load({ manifest: manifest("bench.big.warm"), wasm: await makeBig(0) })).close();
    const times: number[] = [];
    let size = 0;
    for (let i = 1; i <= 5; i++) {
      const wasm = await makeBig(i + spareWorkers * 10);
      size = wasm.byteLength;
      await new Promise((r) => setTimeout(r, 150));
      const t = performance.now();
      const p = await host.load({ manifest: manifest(`bench.big${i}`), wasm });
      times.push(performance.now() - t);
      await p.close();
    }
    const id = `load-uncached-plugin-${Math.round(size / 1024)}KB${spareWorkers === 0 ? "-no-spare" : ""}`;
    rows.push(spareWorkers === 1 ? { id, value: median(times), unit: "ms", target: 200 } : { id, value: median(times), unit: "ms" });
    await host.close();
  }
}

// ---- first call after a worker crash -------------------------------------------------
// The worker of a loaded plugin is terminated from outside (as the soak does), then the
// next call is timed. After a plugin's first crash that call waits for the replacement,
// booted at once on a spare worker (default) or on a worker started then
// (`spareWorkers: 0`); after a later crash the instance booted in advance serves it.
{
  const workerEvents: WorkerEvent[] = [];
  const onWorker = (m: unknown): void => void workerEvents.push(m as WorkerEvent);
  subscribe(WORKER_CHANNEL, onWorker);
  const crashAndCall = async (p: Plugin): Promise<number> => {
    await new Promise((r) => setTimeout(r, 200)); // let spares and replacements finish booting
    const active = workerEvents.filter((e) => e.type === "active" && e.pluginId === p.id).at(-1);
    if (active?.type === "active") await active.worker.terminate();
    const t = performance.now();
    await p.executeTool("echo", 1);
    return performance.now() - t;
  };
  const wasm = await buildFixture("tool-basic");
  for (const spareWorkers of [1, 0]) {
    const host = createHost({ logger: quiet, spareWorkers });
    const first: number[] = [];
    const later: number[] = [];
    for (let i = 0; i < 12; i++) {
      const p = await host.load({ manifest: manifest(`bench.crash${i}`), wasm });
      first.push(await crashAndCall(p));
      later.push(await crashAndCall(p));
      await p.close();
    }
    const suffix = spareWorkers === 1 ? "" : "-no-spare";
    rows.push({ id: `first-call-after-first-worker-crash${suffix}-p50`, value: median(first), unit: "ms" });
    rows.push({ id: `first-call-after-later-worker-crash${suffix}-p50`, value: median(later), unit: "ms" });
    await host.close();
  }
  unsubscribe(WORKER_CHANNEL, onWorker);
}

// ---- RSS per idle plugin -------------------------------------------------------------
{
  const wasm = await buildFixture("tool-basic");
  const host = createHost({ logger: quiet });
  await (await host.load({ manifest: manifest("bench.rss.warm"), wasm })).close();
  global.gc?.();
  await new Promise((r) => setTimeout(r, 500));
  const before = process.memoryUsage().rss;
  const plugins: Plugin[] = [];
  const COUNT = 16;
  let linear = 0;
  for (let i = 0; i < COUNT; i++) {
    const p = await host.load({ manifest: manifest(`bench.rss${i}`), wasm });
    await p.executeTool("echo", 1);
    linear += p.usage.peakMemoryBytes;
    plugins.push(p);
  }
  await new Promise((r) => setTimeout(r, 1000));
  const after = process.memoryUsage().rss;
  const perPlugin = (after - before) / COUNT;
  rows.push({ id: "rss-per-idle-plugin", value: perPlugin / (1024 * 1024), unit: "MiB" });
  rows.push({
    id: "rss-per-idle-plugin-above-linear-memory",
    value: (perPlugin - linear / COUNT) / (1024 * 1024),
    unit: "MiB",
    target: 15,
  });
  await host.close();
}

writeBenchResults("host", rows);
