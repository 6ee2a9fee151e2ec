/**
 * One scenario on one side, in a process of its own (started by index.ts with plain
 * `node --expose-gc`, never under tsx: Extism's worker is a `data:` URL module whose
 * relative source-map comment breaks once tsx has turned source maps on in every worker).
 * A process per scenario and side keeps RSS figures clean and keeps one side's main
 * thread (timers, message ports) from slowing the other's.
 *
 * Reads its job as JSON from argv[2]; sends its result to the parent over IPC.
 */
import { readFileSync } from "node:fs";
import type { HostOptions } from "@clawft/host";
import { EXTISM_SIDES, type ExtismSide, type SideName } from "./constants.js";
import { clawftHost, loadClawft, loadExtism, type PeerPlugin } from "./sides.js";

export type Job =
  | { scenario: "noop"; side: SideName; wasm: string; calls: number }
  | { scenario: "hostcall"; side: SideName; wasm: string; reps: number; callsPerRep: number }
  | { scenario: "load"; side: SideName; cached: string; uncached: string[]; cachedLoads: number; gapMs: number }
  | { scenario: "rss"; side: SideName; wasm: string; plugins: number }
  | { scenario: "scale"; side: SideName; wasm: string; plugins: number; calls: number; rounds: number; idleTimeoutMs?: number };

export interface JobResult {
  /** Named figures (µs, ms, MiB) and lists of samples. */
  [figure: string]: number | number[];
}

const MiB = 1024 * 1024;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const gc = (): void => (globalThis as { gc?: () => void }).gc?.();
const isExtism = (side: SideName): side is ExtismSide => (EXTISM_SIDES as readonly string[]).includes(side);

export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] ?? NaN;
}

/** Loads plugins of one side; `open` is the side's loader with its host made once. */
function opener(side: SideName, hostOptions: HostOptions = {}) {
  if (isExtism(side)) {
    return {
      open: (wasm: Uint8Array | WebAssembly.Module) => loadExtism(side, wasm),
      close: async () => undefined,
    };
  }
  const host = clawftHost(hostOptions);
  return {
    open: (wasm: Uint8Array | WebAssembly.Module) => {
      if (wasm instanceof WebAssembly.Module) throw new Error("clawft loads component bytes");
      return loadClawft(host, wasm);
    },
    close: () => host.close(),
  };
}

async function settledRss(ms: number): Promise<number> {
  await sleep(ms);
  gc();
  await sleep(100);
  return process.memoryUsage().rss;
}

async function run(job: Job): Promise<JobResult> {
  switch (job.scenario) {
    case "noop": {
      const side = opener(job.side);
      const plugin = await side.open(readFileSync(job.wasm));
      await plugin.check();
      for (let i = 0; i < 200; i++) await plugin.echo();
      const us: number[] = [];
      for (let i = 0; i < job.calls; i++) {
        const t = performance.now();
        await plugin.echo();
        us.push((performance.now() - t) * 1000);
      }
      await plugin.close();
      await side.close();
      return { p50: percentile(us, 50), p99: percentile(us, 99) };
    }
    case "hostcall": {
      const side = opener(job.side);
      const plugin = await side.open(readFileSync(job.wasm));
      await plugin.check();
      await plugin.hostCalls(Math.min(job.callsPerRep, 100));
      const perCall: number[] = [];
      for (let r = 0; r < job.reps; r++) {
        let t = performance.now();
        await plugin.hostCalls(job.callsPerRep);
        const full = performance.now() - t;
        t = performance.now();
        await plugin.hostCalls(0);
        const empty = performance.now() - t;
        perCall.push(((full - empty) / job.callsPerRep) * 1000);
      }
      await plugin.close();
      await side.close();
      return { p50: percentile(perCall, 50), worst: Math.max(...perCall), within10us: perCall.filter((x) => x <= 10).length / perCall.length, reps: perCall };
    }
    case "load": {
      const side = opener(job.side);
      const cachedBytes = readFileSync(job.cached);
      // Extism keeps no compile cache: its cached load is createPlugin with a compiled module.
      const cached: Uint8Array | WebAssembly.Module = isExtism(job.side) ? await WebAssembly.compile(cachedBytes) : cachedBytes;
      const warm = await side.open(cached); // warms the load path (and clawft's compile cache)
      await warm.check();
      await warm.close();
      const cachedMs: number[] = [];
      for (let i = 0; i < job.cachedLoads; i++) {
        await sleep(job.gapMs);
        const t = performance.now();
        const plugin = await side.open(cached);
        cachedMs.push(performance.now() - t);
        await plugin.close();
      }
      const uncachedMs: number[] = [];
      for (const path of job.uncached) {
        const bytes = readFileSync(path);
        await sleep(job.gapMs);
        const t = performance.now();
        const plugin = await side.open(bytes);
        uncachedMs.push(performance.now() - t);
        await plugin.close();
      }
      await side.close();
      return { cached: percentile(cachedMs, 50), uncached: percentile(uncachedMs, 50), bytes: cachedBytes.byteLength };
    }
    case "rss": {
      const side = opener(job.side);
      const bytes = readFileSync(job.wasm);
      const warm = await side.open(bytes);
      await warm.check();
      await warm.close();
      const before = await settledRss(500);
      const plugins: PeerPlugin[] = [];
      for (let i = 0; i < job.plugins; i++) {
        const plugin = await side.open(bytes);
        await plugin.echo();
        plugins.push(plugin);
      }
      const after = await settledRss(1000);
      for (const p of plugins) await p.close();
      await side.close();
      return { perPlugin: (after - before) / job.plugins / MiB };
    }
    case "scale": {
      const side = opener(job.side, job.idleTimeoutMs === undefined ? {} : { idleTimeoutMs: job.idleTimeoutMs });
      const bytes = readFileSync(job.wasm);
      const plugins: PeerPlugin[] = [];
      for (let i = 0; i < job.plugins; i++) {
        const plugin = await side.open(bytes);
        await plugin.echo();
        plugins.push(plugin);
      }
      await plugins[0]?.check();
      const result: JobResult = {};
      if (job.idleTimeoutMs === undefined) {
        // `calls` calls at once, spread evenly. clawft queues per plugin itself; Extism
        // needs the caller to queue (one call at a time per plugin), so each plugin gets a chain.
        const perPlugin = Math.ceil(job.calls / job.plugins);
        const roundsMs: number[] = [];
        for (let r = 0; r < job.rounds; r++) {
          const t = performance.now();
          if (isExtism(job.side)) {
            await Promise.all(plugins.map(async (p) => {
              for (let i = 0; i < perPlugin; i++) await p.echo();
            }));
          } else {
            await Promise.all(Array.from({ length: perPlugin * job.plugins }, (_, i) => plugins[i % job.plugins]!.echo()));
          }
          roundsMs.push(performance.now() - t);
        }
        result.concurrent = percentile(roundsMs, 50);
        result.rss = (await settledRss(1000)) / MiB;
      } else {
        // Every plugin idle past its timeout: hibernated; then the first call of a few.
        result.rss = (await settledRss(job.idleTimeoutMs + 1500)) / MiB;
        const firstCallMs: number[] = [];
        for (const p of plugins.slice(0, 10)) {
          const t = performance.now();
          await p.echo();
          firstCallMs.push(performance.now() - t);
        }
        result.firstCallAfterHibernation = percentile(firstCallMs, 50);
      }
      for (const p of plugins) await p.close();
      await side.close();
      return result;
    }
  }
}

const job = JSON.parse(process.argv[2] ?? "null") as Job | null;
if (job) {
  // The bench that started this process is gone (interrupted): stop too, workers and all.
  process.once("disconnect", () => process.exit(1));
  run(job).then(
    (result) => {
      process.send?.({ ok: true, result });
      process.exit(0);
    },
    (error: unknown) => {
      process.send?.({ ok: false, error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
      process.exit(1);
    },
  );
}
