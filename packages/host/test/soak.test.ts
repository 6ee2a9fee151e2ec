import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { readdirSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PluginError, ResourceExhaustedError, WORKER_CHANNEL, type Plugin, type WorkerEvent } from "@clawft/host";
import { createTempDir, type TempDir } from "@clawft/test-utils";
import { fixture, manifest, testHost, type TestHost } from "./helpers.js";

const TOTAL = Number(process.env.CLAWFT_SOAK_CALLS ?? 100_000);
const LANES = 4;

/** A small deterministic PRNG (mulberry32): the same faults on every run. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function openFds(): number {
  return readdirSync("/proc/self/fd").length;
}

function timers(): number {
  return process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;
}

let t: TestHost;
const dirs: TempDir[] = [];
const workerEvents: WorkerEvent[] = [];
const onWorker = (m: unknown): void => void workerEvents.push(m as WorkerEvent);

beforeAll(() => {
  subscribe(WORKER_CHANNEL, onWorker);
});

afterAll(async () => {
  unsubscribe(WORKER_CHANNEL, onWorker);
  for (const d of dirs) await d.cleanup();
});

describe("soak", () => {
  it(`${TOTAL} calls over ${LANES} plugins with random faults: no leaked workers, timers or fds; stable guest memory`, { timeout: 300_000 }, async () => {
    const fdsBefore = openFds();
    const timersBefore = timers();
    t = testHost();
    const lanes: Array<{ plugin: Plugin; dir: TempDir; envValue: string; file: string }> = [];
    for (let i = 0; i < LANES; i++) {
      const dir = await createTempDir(`clawft-soak-${i}-`);
      dirs.push(dir);
      const file = `lane ${i} file ✓ ${"x".repeat(100 * i)}`;
      await writeFile(join(dir.path, "data.txt"), file);
      const envName = `CLAWFT_SOAK_VAR_${i}`;
      const envValue = `value-${i}-${"é".repeat(i * 10)}`;
      process.env[envName] = envValue;
      const perms = { filesystem: [dir.path], env_vars: [envName] };
      const plugin = await t.host.load({
        manifest: manifest(`test.soak.${i}`, { ...perms, resources: { max_log_messages_per_minute: 100_000, max_env_lookups_per_minute: 100_000 } }),
        wasm: await fixture("host-calls"),
        approvals: perms,
      });
      lanes.push({ plugin, dir, envValue, file });
    }
    const trap = await t.host.load({ manifest: manifest("test.soak.trap"), wasm: await fixture("trap") });
    const hog = await t.host.load({ manifest: manifest("test.soak.hog"), wasm: await fixture("memory-hog") });

    const latencies = new Float64Array(TOTAL);
    let done = 0;
    const counts = { ok: 0, refused: 0, unknownTool: 0, trap: 0, memory: 0, crashed: 0 };
    const eventsBefore = t.events.length;
    let expectedEvents = 0;
    const peakAfterWarmup = new Map<number, number>();
    /** What each call over 100 ms was doing (for the report). */
    const slowByOp: Record<string, number> = {};

    const runLane = async (laneIndex: number, calls: number): Promise<void> => {
      const lane = lanes[laneIndex] as (typeof lanes)[number];
      const rand = prng(1234 + laneIndex);
      let afterCrash = false;
      for (let n = 0; n < calls; n++) {
        const r = rand();
        const op = r < 0.0004 ? "crash" : r < 0.0008 ? "trap" : r < 0.001 ? "memory" : r < 0.01 ? "refused" : r < 0.012 ? "unknown-tool" : r < 0.5 ? "env" : "read";
        const started = performance.now();
        if (r < 0.0004) {
          // A worker crash in the middle of the soak: terminate this plugin's worker from outside.
          // The worker this plugin's calls run on (not the one booted in advance).
          const mine = workerEvents.filter((e) => e.type === "active" && e.pluginId === lane.plugin.id).at(-1);
          if (mine?.type === "active") await mine.worker.terminate();
          counts.crashed++;
        } else if (r < 0.0008) {
          const e = await trap.executeTool("run", {}).catch((x: unknown) => x);
          expect(PluginError.isInstance(e) && e.code === "PLUGIN_TRAP").toBe(true);
          counts.trap++;
        } else if (r < 0.001) {
          const e = await hog.executeTool("run", [64]).catch((x: unknown) => x);
          expect(ResourceExhaustedError.isInstance(e) && e.kind === "memory").toBe(true);
          counts.memory++;
        } else if (r < 0.01) {
          const e = await lane.plugin.executeTool("read", ["/etc/passwd"]).catch((x: unknown) => x);
          expect((e as Error).message.startsWith("filesystem access denied")).toBe(true);
          expectedEvents++;
          counts.refused++;
        } else if (r < 0.012) {
          const e = await lane.plugin.executeTool("no-such-tool", {}).catch((x: unknown) => x);
          expect(PluginError.isInstance(e) && e.code === "PLUGIN_UNKNOWN_TOOL").toBe(true);
          counts.unknownTool++;
        } else if (r < 0.5) {
          // Input (the name) and output (the value) cross the wire every time.
          const v = await lane.plugin.executeTool("env", [`CLAWFT_SOAK_VAR_${laneIndex}`]);
          if (v !== `some:${lane.envValue}`) expect(v).toBe(`some:${lane.envValue}`);
          expectedEvents++;
          counts.ok++;
        } else {
          const v = await lane.plugin.executeTool("read", ["data.txt"]);
          if (v !== lane.file) expect(v).toBe(lane.file);
          expectedEvents++;
          counts.ok++;
        }
        const elapsed = performance.now() - started;
        latencies[done++] = elapsed;
        if (elapsed > 100) {
          const key = afterCrash && op !== "crash" ? `${op} (first after a crash)` : op;
          slowByOp[key] = (slowByOp[key] ?? 0) + 1;
        }
        if (op !== "trap" && op !== "memory") afterCrash = op === "crash";
        if (n === 1000) peakAfterWarmup.set(laneIndex, lane.plugin.usage.peakMemoryBytes);
      }
    };
    const per = Math.floor(TOTAL / LANES);
    await Promise.all(Array.from({ length: LANES }, (_, i) => runLane(i, i === LANES - 1 ? TOTAL - per * (LANES - 1) : per)));

    // Exactly one audit event per host call.
    expect(t.events.length - eventsBefore).toBe(expectedEvents);
    // No guest-side growth: each plugin's memory is what it was after warm-up (the guest heap is reset per call).
    for (const [i, peak] of peakAfterWarmup) {
      await lanes[i]?.plugin.executeTool("env", ["X"]);
      expect(lanes[i]?.plugin.usage.peakMemoryBytes).toBe(peak);
    }
    await t.host.close();
    await new Promise((r) => setTimeout(r, 200));
    // Every worker ever started (spares included) has exited.
    const started = new Set(workerEvents.filter((e) => e.type === "start" || e.type === "spare").map((e) => e.threadId));
    const exited = new Set(workerEvents.filter((e) => e.type === "exit").map((e) => e.threadId));
    expect([...started].filter((id) => !exited.has(id))).toEqual([]);
    expect(timers()).toBeLessThanOrEqual(timersBefore);
    expect(openFds()).toBeLessThanOrEqual(fdsBefore + 2);

    const sorted = Array.from(latencies.subarray(0, done)).sort((a, b) => a - b);
    const pct = (p: number): number => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] as number;
    const slow = sorted.filter((x) => x > 100).length;
    // Reported, not asserted (no test asserts a wall-clock time).
    console.log(
      `soak: ${done} calls, ${JSON.stringify(counts)}, workers started ${started.size}; latency p50 ${pct(0.5).toFixed(3)} ms, p99 ${pct(0.99).toFixed(3)} ms, max ${(sorted.at(-1) ?? 0).toFixed(1)} ms, calls over 100 ms: ${slow} ${JSON.stringify(slowByOp)}`,
    );
    expect(done).toBe(TOTAL);
  });
});
