/**
 * @clawft/host JS plugin bench (never asserts; writes bench/results/host-js.json), issue 16:
 *  - the installed size of the example JS plugin (examples/js-plugin bundled: its `main`, what
 *    the size limits and the signature cover), gzipped; target at most 120 KB. Baseline: the
 *    same source built as a full componentize-qjs component, measured the same way.
 *  - a cached load of a JS plugin with a warm engine (the engine compiled once, as every host
 *    does for its first JS plugin; then `host.load` of a JS plugin until `describe()` is ready,
 *    and `close`), median of 20; target at most 30 ms. Baseline: the same load of a WAT
 *    component plugin (tool-basic) in the same host.
 */
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { createHost, PluginManager, type LoadInput } from "@clawft/host";
import { writeBenchResults, type BenchRow } from "@clawft/test-utils";
import { buildJsExamplePlugin, bundleJsExamplePlugin, jsExampleManifest } from "@clawft/wasm-fixtures";
import { fixture } from "../test/helpers.js";

const quiet = { error() {}, warn() {}, info() {}, debug() {}, trace() {} };
const rows: BenchRow[] = [];
const KB = 1024;

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
};

const dir = await mkdtemp(join(tmpdir(), "clawft-bench-js-"));
try {
  // ---- installed size of the example JS plugin --------------------------------------------
  {
    const src = join(dir, "example");
    await mkdir(join(src, "dist"), { recursive: true });
    await writeFile(join(src, "clawft.plugin.json"), JSON.stringify(await jsExampleManifest()));
    await writeFile(join(src, "dist", "plugin.js"), await bundleJsExamplePlugin());
    const manager = new PluginManager({ dataDir: join(dir, "data"), logger: { warn() {} }, approve: () => true });
    const { plugin } = await manager.install(src);
    const installed = await readFile(join(dir, "data", "plugins", plugin.id, "package", "dist", "plugin.js"));
    const component = await buildJsExamplePlugin();
    rows.push({ id: "js-example-installed-main-gzip", value: gzipSync(installed).byteLength / KB, unit: "KB", baseline: gzipSync(component).byteLength / KB, target: 120 });
    rows.push({ id: "js-example-installed-main", value: (await stat(join(dir, "data", "plugins", plugin.id, "package", "dist", "plugin.js"))).size / KB, unit: "KB", baseline: component.byteLength / KB, target: 300 });
  }

  // ---- cached load with a warm engine ------------------------------------------------------
  {
    const host = createHost({ logger: quiet, cacheDir: join(dir, "cache") });
    const js = await bundleJsExamplePlugin();
    const manifest = await jsExampleManifest();
    const jsInput = (i: number): LoadInput => ({
      manifest: { ...manifest, id: `bench.js.load${i}`, permissions: { network: [], filesystem: [], env_vars: [], shell: false } },
      js,
    });
    const wasm = await fixture("tool-basic");
    const wasmInput = (i: number): LoadInput => ({ manifest: { id: `bench.wat.load${i}`, name: "wat", version: "1.0.0", capabilities: ["tool"] }, wasm });
    const timeLoads = async (input: (i: number) => LoadInput): Promise<number> => {
      const times: number[] = [];
      for (let i = 0; i < 23; i++) {
        const started = performance.now();
        const p = await host.load(input(i));
        const elapsed = performance.now() - started;
        await p.close();
        if (i >= 3) times.push(elapsed); // the first loads warm the engine, the caches and the spare worker
      }
      return median(times);
    };
    const jsMs = await timeLoads(jsInput);
    const watMs = await timeLoads(wasmInput);
    rows.push({ id: "js-plugin-cached-load-warm-engine", value: jsMs, unit: "ms", baseline: watMs, target: 30 });
    await host.close();
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}

writeBenchResults("host-js", rows);
