import { afterEach, describe, expect, it } from "vitest";
import type { Worker } from "node:worker_threads";
import { resolveHostOptions, INSTANCE_LIMITS } from "../options.js";
import { SpareWorkers, startPluginWorker } from "./spare-workers.js";

const started: Worker[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((w) => w.terminate()));
});

describe("plugin worker V8 limits", () => {
  it("T48 a plugin worker starts with bounded old generation, young generation and stack", () => {
    const limits = { maxOldGenerationSizeMb: 24, maxYoungGenerationSizeMb: 2, stackSizeMb: 2 };
    const worker = startPluginWorker(limits);
    started.push(worker);
    expect(worker.resourceLimits).toMatchObject(limits);
  });

  it("T48 spares and new workers of a pool all get the pool's limits", async () => {
    const limits = { maxOldGenerationSizeMb: 32, maxYoungGenerationSizeMb: 4, stackSizeMb: 3 };
    const pool = new SpareWorkers(1, limits);
    try {
      pool.warm();
      const spare = pool.take();
      const fresh = pool.start();
      started.push(spare, fresh);
      expect(spare.resourceLimits).toMatchObject(limits);
      expect(fresh.resourceLimits).toMatchObject(limits);
    } finally {
      await pool.close();
    }
  });

  it("T48 the host's defaults are bounded and workerResourceLimits is validated within its ceilings, naming the field", () => {
    expect(resolveHostOptions({}).workerResourceLimits).toEqual({ maxOldGenerationSizeMb: 128, maxYoungGenerationSizeMb: 16, stackSizeMb: 4 });
    expect(resolveHostOptions({ workerResourceLimits: { maxOldGenerationSizeMb: 64 } }).workerResourceLimits).toEqual({
      maxOldGenerationSizeMb: 64,
      maxYoungGenerationSizeMb: 16,
      stackSizeMb: 4,
    });
    const { maxOldGenerationSizeMb, maxYoungGenerationSizeMb, stackSizeMb } = INSTANCE_LIMITS.worker;
    expect(() => resolveHostOptions({ workerResourceLimits: { maxOldGenerationSizeMb: maxOldGenerationSizeMb.max + 1 } })).toThrow(
      "workerResourceLimits.maxOldGenerationSizeMb must be an integer from 16 to 1024",
    );
    expect(() => resolveHostOptions({ workerResourceLimits: { maxYoungGenerationSizeMb: maxYoungGenerationSizeMb.min - 1 } })).toThrow(
      "workerResourceLimits.maxYoungGenerationSizeMb must be an integer from 1 to 64",
    );
    expect(() => resolveHostOptions({ workerResourceLimits: { stackSizeMb: stackSizeMb.max + 0.5 } })).toThrow(
      "workerResourceLimits.stackSizeMb must be an integer from 1 to 16",
    );
    expect(() => resolveHostOptions({ workerResourceLimits: { heap: 1 } as never })).toThrow("unknown option: workerResourceLimits.heap");
    expect(() => resolveHostOptions({ maxCoreInstances: 0 })).toThrow("maxCoreInstances must be an integer from 1 to 1000");
    expect(() => resolveHostOptions({ maxMemories: 101 })).toThrow("maxMemories must be an integer from 1 to 100");
    expect(() => resolveHostOptions({ maxTables: 1.5 })).toThrow("maxTables must be an integer from 1 to 1000");
  });
});
