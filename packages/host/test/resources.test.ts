import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PluginError, ResourceExhaustedError } from "@clawft/host";
import { startLoopbackServer, type LoopbackServer } from "@clawft/test-utils";
import { fixture, fixtureWithTools, manifest, rejection, testHost, type TestHost } from "./helpers.js";

const MiB = 1024 * 1024;
let t: TestHost;
let slowServer: LoopbackServer;

beforeAll(async () => {
  slowServer = await startLoopbackServer(async (_req, res) => {
    await new Promise((r) => setTimeout(r, 3000));
    res.end("late");
  });
  t = testHost({
    resolve: async (h) => (h === "slow.test" ? ["127.0.0.1"] : Promise.reject(new Error("unknown"))),
    allowPrivateCidrs: ["127.0.0.1/32"],
  });
});

afterAll(async () => {
  await t.host.close();
  await slowServer.close();
});

describe("resource limits through a real component", () => {
  it("T28 an infinite loop is stopped by fuel (kind fuel)", async () => {
    const p = await t.host.load({ manifest: manifest("test.loop"), wasm: await fixture("infinite-loop") });
    const error = await rejection(p.executeTool("run", {}));
    expect(ResourceExhaustedError.isInstance(error)).toBe(true);
    expect(error.code).toBe("RESOURCE_EXHAUSTED");
    expect(error.kind).toBe("fuel");
    expect(error.limit).toBe(1_000_000_000);
    expect(error.used).toBeGreaterThanOrEqual(1_000_000_000);
    expect(p.usage.fuelUsed).toBeGreaterThanOrEqual(1_000_000_000);
    await p.close();
  });

  it("T29 allocating past 16 MiB is stopped (kind memory)", async () => {
    const p = await t.host.load({ manifest: manifest("test.mem"), wasm: await fixture("memory-hog") });
    const error = await rejection(p.executeTool("run", [64]));
    expect(ResourceExhaustedError.isInstance(error)).toBe(true);
    expect(error.kind).toBe("memory");
    expect(error.limit).toBe(16 * MiB);
    expect(error.used).toBeGreaterThan(16 * MiB);
    expect(p.usage.peakMemoryBytes).toBeLessThanOrEqual(16 * MiB);
    // Within the cap it succeeds (a fresh instance).
    await expect(p.executeTool("run", [8])).resolves.toBeGreaterThan(0);
    await p.close();
  });

  it("T29 a guest that handles a failed memory.grow (-1) and returns succeeds", async () => {
    const p = await t.host.load({ manifest: manifest("test.memhandled"), wasm: await fixture("memory-grow-handled") });
    await expect(p.executeTool("run", [32])).resolves.toBe("ok");
    await p.close();
  });

  it("T30 a call blocked past the wall-clock limit in a slow host call is stopped (kind timeout); the next call works", async () => {
    const network = ["slow.test"];
    const p = await t.host.load({
      manifest: manifest("test.slow", { network, resources: { max_execution_seconds: 1 } }),
      wasm: await fixtureWithTools("slow-host-call", ["http", "log"]),
      approvals: { network },
    });
    const before = t.events.length;
    const error = await rejection(p.executeTool("http", [3, `http://slow.test:${slowServer.port}/`]));
    expect(ResourceExhaustedError.isInstance(error)).toBe(true);
    expect(error.kind).toBe("timeout");
    expect(error.limit).toBe(1000);
    expect(error.used).toBeGreaterThanOrEqual(1000);
    // The host call in flight got its audit event before the call settled.
    expect(t.events.length).toBe(before + 1);
    expect(t.events[before]).toMatchObject({ function: "http-request", result: "error", code: "RESOURCE_EXHAUSTED" });
    // The worker was terminated and is re-created for the next call.
    await expect(p.executeTool("log", [3])).resolves.toBe(3);
    await p.close();
  });

  it("T31 max_fuel = 500000000 stops at the lower budget", async () => {
    const p = await t.host.load({
      manifest: manifest("test.fuel500", { resources: { max_fuel: 500_000_000 } }),
      wasm: await fixture("infinite-loop"),
    });
    const error = await rejection(p.executeTool("run", {}));
    expect(error.kind).toBe("fuel");
    expect(error.limit).toBe(500_000_000);
    expect(error.used).toBeGreaterThanOrEqual(500_000_000);
    expect(error.used).toBeLessThan(500_001_000);
    await p.close();
  });

  it("T32 max_memory_mb = 8 stops at 8 MiB", async () => {
    const p = await t.host.load({
      manifest: manifest("test.mem8", { resources: { max_memory_mb: 8 } }),
      wasm: await fixture("memory-hog"),
    });
    const error = await rejection(p.executeTool("run", [12]));
    expect(error.kind).toBe("memory");
    expect(error.limit).toBe(8 * MiB);
    expect(p.usage.peakMemoryBytes).toBeLessThanOrEqual(8 * MiB);
    await p.close();
  });

  it("T45 a call using ~900M fuel, then the next call gets the full budget again", async () => {
    const p = await t.host.load({ manifest: manifest("test.burner"), wasm: await fixture("fuel-burner") });
    await p.executeTool("run", [1_000_000]);
    const perTurn = p.usage.fuelUsed / 1_000_000;
    expect(perTurn).toBeGreaterThan(0);
    const turns = Math.floor(900_000_000 / perTurn);
    await p.executeTool("run", [turns]);
    const first = p.usage.fuelUsed;
    expect(first).toBeGreaterThan(850_000_000);
    expect(first).toBeLessThan(1_000_000_000);
    await p.executeTool("run", [turns]);
    expect(p.usage.fuelUsed).toBe(first);
    await p.close();
  });

  it("a table grown past 10,000 elements is stopped (kind table)", async () => {
    const p = await t.host.load({ manifest: manifest("test.table"), wasm: await fixture("table-hog") });
    const error = await rejection(p.executeTool("run", [20_000]));
    expect(error.kind).toBe("table");
    expect(error.limit).toBe(10_000);
    await expect(p.executeTool("run", [5_000])).resolves.toBeGreaterThanOrEqual(5_000);
    await p.close();
  });

  it("unbounded recursion is stopped (stack overflow trap or fuel) and the next call works", async () => {
    const p = await t.host.load({ manifest: manifest("test.recursion"), wasm: await fixture("deep-recursion") });
    const error = await rejection(p.executeTool("run", {}));
    expect(PluginError.isInstance(error) || ResourceExhaustedError.isInstance(error)).toBe(true);
    expect(["PLUGIN_TRAP", "RESOURCE_EXHAUSTED"]).toContain(error.code);
    await p.close();
  });

  it("T43 two instances share no state: each plugin's counter is its own, and a fresh instance starts empty", async () => {
    const wasm = await fixtureWithTools("stateful", ["count", "set", "get"]);
    const a = await t.host.load({ manifest: manifest("test.state.a"), wasm });
    const b = await t.host.load({ manifest: manifest("test.state.b"), wasm });
    await a.executeTool("set", ["secret of A"]);
    expect(await a.executeTool("count", [])).toBe(1);
    expect(await a.executeTool("count", [])).toBe(2);
    expect(await b.executeTool("count", [])).toBe(1);
    expect(await b.executeTool("get", [])).toBe("");
    expect(await a.executeTool("get", [])).toBe("secret of A");
    // Run both at once: each sees only its own state.
    const [ra, rb] = await Promise.all([a.executeTool("count", []), b.executeTool("count", [])]);
    expect([ra, rb]).toEqual([3, 2]);
    await a.close();
    await b.close();
  });
});
