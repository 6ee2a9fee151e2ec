/**
 * The per-plugin memory and instance budget (T46, T47) through a real hostile
 * component: `memory-multiplier` instantiates one core module 32 times, each with
 * its own memory, and grows every one of them as far as it can.
 */
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PluginError, ResourceExhaustedError, WORKER_CHANNEL, type WorkerEvent } from "@clawft/host";
import { fixture, manifest, rejection, testHost, type TestHost } from "./helpers.js";

const MiB = 1024 * 1024;
let t: TestHost;

beforeAll(() => {
  // Room for the hostile component's 33 memories, so that the sum is what stops it.
  t = testHost({ maxMemories: 40 });
});

afterAll(async () => {
  await t.host.close();
});

async function otherPluginStillWorks(host: TestHost["host"]): Promise<void> {
  const other = await host.load({ manifest: manifest("test.budget.other"), wasm: await fixture("tool-basic") });
  await expect(other.executeTool("echo", ["still here"])).resolves.toEqual(["still here"]);
  await other.close();
}

describe("T46 linear memory is summed over every memory of a plugin instance", () => {
  it("T46 a component whose 33 memories all grow holds max_memory_mb in total, and usage.peakMemoryBytes reports the sum", async () => {
    const p = await t.host.load({ manifest: manifest("test.budget.sum"), wasm: await fixture("memory-multiplier") });
    await expect(p.executeTool("echo", [1])).resolves.toEqual([1]);
    // Each memory is far under its own 16 MiB cap; together they are exactly at the budget
    // (with a cap per memory they would hold 33 x 16 MiB). Only the main memory is exported.
    expect(p.usage.peakMemoryBytes).toBe(16 * MiB);
    await p.close();
  });

  it("T46 a grow of the main memory that would take the sum over the budget stops the call (kind memory); the next call and another plugin still work", async () => {
    const p = await t.host.load({ manifest: manifest("test.budget.grow"), wasm: await fixture("memory-multiplier") });
    const error = await rejection(p.executeTool("grow", [1]));
    expect(ResourceExhaustedError.isInstance(error)).toBe(true);
    expect(error.code).toBe("RESOURCE_EXHAUSTED");
    expect(error.kind).toBe("memory");
    expect(error.limit).toBe(16 * MiB);
    expect(error.used).toBe(16 * MiB + 64 * 1024);
    // The main memory itself was only 128 KiB: the sum, not the memory, is over.
    expect(p.usage.peakMemoryBytes).toBe(16 * MiB);
    await expect(p.executeTool("echo", ["next"])).resolves.toEqual(["next"]);
    expect(p.usage.peakMemoryBytes).toBe(16 * MiB);
    await otherPluginStillWorks(t.host);
    await p.close();
  });

  it("T46 with max_memory_mb = 4 the hostile component holds 4 MiB in total", async () => {
    const p = await t.host.load({
      manifest: manifest("test.budget.four", { resources: { max_memory_mb: 4 } }),
      wasm: await fixture("memory-multiplier"),
    });
    await expect(p.executeTool("echo", [4])).resolves.toEqual([4]);
    expect(p.usage.peakMemoryBytes).toBe(4 * MiB);
    const error = await rejection(p.executeTool("grow", [1]));
    expect(error).toMatchObject({ code: "RESOURCE_EXHAUSTED", kind: "memory", limit: 4 * MiB });
    await p.close();
  });

  it("T46 a plugin with one memory still gets the whole budget (memory-hog grows to 15 MiB)", async () => {
    const p = await t.host.load({ manifest: manifest("test.budget.one"), wasm: await fixture("memory-hog") });
    await expect(p.executeTool("run", [15])).resolves.toBe(15 * 16);
    expect(p.usage.peakMemoryBytes).toBe(15 * MiB);
    await p.close();
  });
});

describe("T47 too many core instances or memories are refused", () => {
  it("T47 with the default limits the hostile component is refused at load with PLUGIN_TOO_MANY_MEMORIES; another plugin loads and runs", async () => {
    const d = testHost();
    try {
      const error = await rejection(d.host.load({ manifest: manifest("test.budget.memories"), wasm: await fixture("memory-multiplier") }));
      expect(PluginError.isInstance(error)).toBe(true);
      expect(error.code).toBe("PLUGIN_TOO_MANY_MEMORIES");
      expect(error.message).toMatch(/^too many memories: the plugin defines more than 8 linear memories/);
      await otherPluginStillWorks(d.host);
    } finally {
      await d.host.close();
    }
  });

  it("T47 past maxCoreInstances the (N+1)th core instance is refused with PLUGIN_TOO_MANY_INSTANCES", async () => {
    const d = testHost({ maxCoreInstances: 10, maxMemories: 100 });
    try {
      const error = await rejection(d.host.load({ manifest: manifest("test.budget.instances"), wasm: await fixture("memory-multiplier") }));
      expect(PluginError.isInstance(error)).toBe(true);
      expect(error.code).toBe("PLUGIN_TOO_MANY_INSTANCES");
      expect(error.message).toMatch(/^too many core instances: the plugin creates more than 10 core module instances/);
      await otherPluginStillWorks(d.host);
    } finally {
      await d.host.close();
    }
  });

  it("T47 the default limits leave room for the JS example plugin (13 core instances, 3 memories, 3 tables)", async () => {
    const { buildJsExamplePlugin } = await import("@clawft/wasm-fixtures");
    const d = testHost({ maxModuleBytes: 2 * 1024 * 1024, maxModuleGzipBytes: 1024 * 1024 });
    try {
      const p = await d.host.load({ manifest: manifest("test.budget.js"), wasm: await buildJsExamplePlugin() });
      expect(p.describe().tools.length).toBeGreaterThan(0);
      await p.close();
      // Just under its 13 core instances it is refused.
      const tight = testHost({ maxModuleBytes: 2 * 1024 * 1024, maxModuleGzipBytes: 1024 * 1024, maxCoreInstances: 12 });
      try {
        const error = await rejection(tight.host.load({ manifest: manifest("test.budget.js2"), wasm: await buildJsExamplePlugin() }));
        expect(error.code).toBe("PLUGIN_TOO_MANY_INSTANCES");
      } finally {
        await tight.host.close();
      }
    } finally {
      await d.host.close();
    }
  });
});

describe("T48 plugin workers have a bounded JS heap and stack", () => {
  const SMALL = { maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 1, stackSizeMb: 2 };

  it("T48 every plugin worker (spares, the plugin's, its replacement) runs under workerResourceLimits; the JS example plugin runs at the smallest limits", { timeout: 60_000 }, async () => {
    const workers: WorkerEvent[] = [];
    const onWorker = (m: unknown): void => {
      const e = m as WorkerEvent;
      if (e.type === "spare" || e.type === "start") workers.push(e);
    };
    subscribe(WORKER_CHANNEL, onWorker);
    const { buildJsExamplePlugin } = await import("@clawft/wasm-fixtures");
    const d = testHost({ maxModuleBytes: 2 * 1024 * 1024, maxModuleGzipBytes: 1024 * 1024, workerResourceLimits: SMALL });
    try {
      const p = await d.host.load({ manifest: manifest("test.heap.js"), wasm: await buildJsExamplePlugin() });
      const tool = p.describe().tools[0]?.name ?? "";
      for (let i = 0; i < 5; i++) await p.executeTool(tool, {}).catch((e: unknown) => expect(PluginError.isInstance(e) && e.code).toBe("PLUGIN_TOOL_ERROR"));
      // A trap discards the instance: the replacement boots on a worker of the same pool.
      const hog = await d.host.load({ manifest: manifest("test.heap.hog"), wasm: await fixture("memory-hog") });
      await rejection(hog.executeTool("run", [64]));
      await expect(hog.executeTool("run", [1])).resolves.toBe(16);
      expect(workers.length).toBeGreaterThanOrEqual(3);
      for (const e of workers) if (e.type === "spare" || e.type === "start") expect(e.worker.resourceLimits).toMatchObject(SMALL);
      await p.close();
      await hog.close();
    } finally {
      unsubscribe(WORKER_CHANNEL, onWorker);
      await d.host.close();
    }
  });

  it("T48 a plugin worker that dies during a call (here terminated from outside, as V8 ends a worker at its heap limit) fails only that call with PLUGIN_CRASHED; the next call gets a fresh worker; another plugin is unaffected", { timeout: 60_000 }, async () => {
    const d = testHost({ workerResourceLimits: SMALL });
    const started: WorkerEvent[] = [];
    const onWorker = (m: unknown): void => {
      const e = m as WorkerEvent;
      if (e.type === "start" && e.pluginId === "test.heap.crash") started.push(e);
    };
    subscribe(WORKER_CHANNEL, onWorker);
    try {
      const p = await d.host.load({ manifest: manifest("test.heap.crash"), wasm: await fixture("infinite-loop") });
      const first = started[0];
      expect(first?.type).toBe("start");
      const running = p.executeTool("run", {});
      setTimeout(() => void (first as Extract<WorkerEvent, { type: "start" }>).worker.terminate(), 50);
      const error = await rejection(running);
      expect(PluginError.isInstance(error)).toBe(true);
      expect(error.code).toBe("PLUGIN_CRASHED");
      // The next call runs on a fresh worker (it loops again and is stopped by fuel).
      expect(await rejection(p.executeTool("run", {}))).toMatchObject({ code: "RESOURCE_EXHAUSTED", kind: "fuel" });
      await otherPluginStillWorks(d.host);
      await p.close();
    } finally {
      unsubscribe(WORKER_CHANNEL, onWorker);
      await d.host.close();
    }
  });
});
