/**
 * @clawft/host per-plugin budget bench (never asserts; writes bench/results/host-budget.json).
 * What a hostile plugin can make the host spend, measured in one run next to a
 * baseline taken in the same run:
 *  - the largest event-loop stall of the main thread while a plugin floods host calls
 *    (300,000 log calls; huge paths, env names and log messages), against the largest
 *    stall over the same time with the host idle (target: at most 50 ms);
 *  - audit bytes a log flood writes per plugin per minute (JSONL sink; target: at most
 *    1 MiB), against the bytes of the 100 log calls a minute the plugin is allowed;
 *  - the largest stall while an untrusted component loads uncached: a hostile one (type
 *    nesting that made jco's glue 38 MB before the load was bounded) and a normal ~300 KB
 *    one (target: at most 50 ms each);
 *  - process RSS growth while a plugin fills every memory it can create (33 memories, each
 *    grown until the plugin's sum is full; target: at most its 16 MiB cap + 16 MiB), against
 *    the growth for a plain plugin loaded the same way.
 */
import { statSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createHost, createJsonlAuditSink, type Plugin } from "@clawft/host";
import { writeBenchResults, type BenchRow } from "@clawft/test-utils";
import { fixture, fixtureWithTools } from "../test/helpers.js";
import { bigComponent } from "./big-component.js";

const quiet = { error() {}, warn() {}, info() {}, debug() {}, trace() {} };
const rows: BenchRow[] = [];
const MiB = 1024 * 1024;

/** Runs `work` while a 1 ms timer records the largest gap between its ticks (the main thread's worst stall). */
async function maxStall(work: () => Promise<unknown>): Promise<{ stallMs: number; elapsedMs: number }> {
  let last = performance.now();
  let worst = 0;
  const probe = setInterval(() => {
    const now = performance.now();
    worst = Math.max(worst, now - last);
    last = now;
  }, 1);
  const started = performance.now();
  try {
    await work();
  } finally {
    clearInterval(probe);
  }
  const now = performance.now();
  return { stallMs: Math.max(worst, now - last), elapsedMs: now - started };
}

const idle = (ms: number) => maxStall(() => new Promise((r) => setTimeout(r, ms)));

const dir = await mkdtemp(join(tmpdir(), "clawft-bench-budget-"));
const hostCalls = await fixtureWithTools("host-calls", ["log-many", "log-big", "read", "env", "log"]);
try {
  // ---- a log flood: stall and audit volume --------------------------------------------
  {
    const auditPath = join(dir, "audit.jsonl");
    const sink = createJsonlAuditSink(auditPath);
    const host = createHost({ logger: quiet, audit: sink });
    const plugin: Plugin = await host.load({
      manifest: { id: "bench.flood", name: "flood", version: "1.0.0", capabilities: ["tool"], resources: { max_execution_seconds: 300 } },
      wasm: hostCalls,
    });
    const calls = 300_000;
    const flood = await maxStall(() => plugin.executeTool("log-many", [calls]));
    const baseline = await idle(flood.elapsedMs);
    rows.push({ id: "budget-stall-during-log-flood-300k", value: flood.stallMs, unit: "ms", baseline: baseline.stallMs, target: 50 });
    await host.close();
    sink.close();
    const bytes = statSync(auditPath).size;
    // Over a minute, the flood's bytes scaled up from its real duration (an upper bound: the
    // allowed 100 messages a minute all fall in the measured part).
    const perMinute = (bytes / flood.elapsedMs) * 60_000;
    rows.push({ id: "budget-audit-bytes-per-minute-log-flood", value: perMinute / MiB, unit: "MiB/min", target: 1 });
    rows.push({ id: "budget-log-flood-duration-300k", value: flood.elapsedMs, unit: "ms" });
  }

  // ---- huge arguments: the stall while the host is handed what it must refuse ----------
  {
    const host = createHost({ logger: quiet, audit: () => undefined });
    const plugin = await host.load({
      manifest: {
        id: "bench.args",
        name: "args",
        version: "1.0.0",
        capabilities: ["tool"],
        permissions: { filesystem: [dir], env_vars: ["X"] },
      },
      wasm: hostCalls,
      approvals: { filesystem: [dir], env_vars: ["X"] },
    });
    const hugePath = `${dir}/${"a".repeat(MiB)}`;
    const hugeName = "N".repeat(MiB);
    const run = await maxStall(async () => {
      for (let i = 0; i < 10; i++) {
        await plugin.executeTool("read", [hugePath]).catch(() => undefined);
        await plugin.executeTool("env", [hugeName]).catch(() => undefined);
      }
      // ~12 MB of text in one log call (4,000,000 three-byte characters).
      await plugin.executeTool("log-big", [4_000_000, "€"]).catch(() => undefined);
    });
    const baseline = await idle(run.elapsedMs);
    rows.push({ id: "budget-stall-during-huge-arguments", value: run.stallMs, unit: "ms", baseline: baseline.stallMs, target: 50 });
    await host.close();
  }

  // ---- an untrusted load, uncached: the main thread's stall -----------------------------
  {
    const host = createHost({ logger: quiet, maxModuleBytes: 1024 * 1024, maxModuleGzipBytes: 1024 * 1024 });
    // Warm the host's load machinery with one component, so the rows measure a load, not start-up.
    await (await host.load({ manifest: { id: "bench.warm", name: "w", version: "1.0.0", capabilities: ["tool"] }, wasm: await bigComponent(1000) })).close();
    const nested = await fixture("nested-types");
    const hostile = await maxStall(() =>
      host.load({ manifest: { id: "bench.nested", name: "n", version: "1.0.0", capabilities: ["tool"] }, wasm: nested }).then(
        (p) => p.close(),
        (error: unknown) => error,
      ),
    );
    const big = await bigComponent(1001);
    const normal = await maxStall(async () => {
      const p = await host.load({ manifest: { id: "bench.big", name: "b", version: "1.0.0", capabilities: ["tool"] }, wasm: big });
      await p.close();
    });
    const baseline = await idle(Math.max(hostile.elapsedMs, normal.elapsedMs));
    rows.push({ id: "budget-stall-during-hostile-load", value: hostile.stallMs, unit: "ms", baseline: baseline.stallMs, target: 50 });
    rows.push({ id: "budget-stall-during-uncached-300KB-load", value: normal.stallMs, unit: "ms", baseline: baseline.stallMs, target: 50 });
    await host.close();
  }

  // ---- a plugin that fills every memory it can create: process RSS ---------------------
  {
    // maxMemories raised so the hostile component loads and the memory sum is what stops it.
    const host = createHost({ logger: quiet, maxMemories: 40, spareWorkers: 0 });
    const growth = async (id: string, wasm: Uint8Array): Promise<number> => {
      (globalThis as { gc?: () => void }).gc?.();
      const before = process.memoryUsage().rss;
      const p = await host.load({ manifest: { id, name: id, version: "1.0.0", capabilities: ["tool"] }, wasm });
      await p.executeTool("echo", [1]);
      const after = process.memoryUsage().rss;
      await p.close();
      return (after - before) / MiB;
    };
    // One of each first, so the rows measure a plugin rather than the first worker's start-up.
    await growth("bench.rss.warm", await fixture("tool-basic"));
    const plain = await growth("bench.rss.plain", await fixture("tool-basic"));
    const hostile = await growth("bench.rss.filler", await fixture("memory-multiplier"));
    rows.push({ id: "budget-rss-growth-memory-filler", value: hostile, unit: "MiB", baseline: plain, target: 32 });
    await host.close();
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}

writeBenchResults("host-budget", rows);
