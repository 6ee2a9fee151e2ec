/**
 * Hibernation (`idleTimeoutMs`, T90–T92), through real components and real workers:
 * an idle plugin's worker is stopped; its next call boots a fresh instance from the
 * compiled component. The guest's memory is gone (re-initialised, like after a
 * fault); everything the host keeps per plugin (rate windows, grants, budgets) holds.
 */
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PluginError, ResourceExhaustedError, WORKER_CHANNEL, type Plugin, type WorkerEvent } from "@clawft/host";
import { fixture, manifest, rejection, testHost, type TestHost } from "./helpers.js";

const IDLE_MS = 40;

const events: WorkerEvent[] = [];
const onWorker = (m: unknown): void => {
  events.push(m as WorkerEvent);
};

beforeAll(() => subscribe(WORKER_CHANNEL, onWorker));
afterAll(() => unsubscribe(WORKER_CHANNEL, onWorker));

/** Waits until `plugin` has hibernated more than `before` times (the timer fires after IDLE_MS). */
async function hibernated(plugin: Plugin, before: number): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (plugin.hibernations <= before) {
    if (Date.now() > deadline) throw new Error(`${plugin.id} did not hibernate`);
    await sleep(5);
  }
}

/** Waits until the worker `threadId` has exited. */
async function exited(threadId: number): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!events.some((e) => e.type === "exit" && e.threadId === threadId)) {
    if (Date.now() > deadline) throw new Error(`worker ${threadId} did not exit`);
    await sleep(5);
  }
}

function logged(t: TestHost, pluginId: string, message: string): number {
  return t.logger.lines.filter((l) => l.pluginId === pluginId && l.message === message).length;
}

describe("hibernation (idleTimeoutMs)", () => {
  let t: TestHost;
  beforeAll(() => {
    t = testHost({ idleTimeoutMs: IDLE_MS });
  });
  afterAll(async () => {
    await t.host.close();
  });

  it("T92 an idle plugin's worker is stopped; its next call gets a re-initialised instance (its memory is gone) and works; another plugin still works", { timeout: 60_000 }, async () => {
    const p = await t.host.load({ manifest: manifest("test.hib.state"), wasm: await fixture("stateful") });
    const other = await t.host.load({ manifest: manifest("test.hib.other"), wasm: await fixture("tool-basic") });
    const active = events.filter((e) => e.type === "active" && e.pluginId === p.id);
    const thread = active[active.length - 1]?.threadId ?? -1;
    // Busy calls back to back: no hibernation while calls keep coming.
    expect(await p.executeTool("count", {})).toBe(1);
    expect(await p.executeTool("set", ["kept in guest memory"])).toBe("ok");
    expect(await p.executeTool("count", {})).toBe(2);
    expect(p.usage.woke).toBe(false);
    const before = p.hibernations;
    await hibernated(p, before);
    // The hibernate event names the worker, and that worker really ends.
    expect(events).toContainEqual({ type: "hibernate", pluginId: p.id, threadId: thread, idleMs: IDLE_MS });
    await exited(thread);
    // Woken: a fresh instance, init run again; nothing of the guest's memory survived.
    expect(await p.executeTool("count", {})).toBe(1);
    expect(p.usage.woke).toBe(true);
    const wake = events.find((e) => e.type === "wake" && e.pluginId === p.id);
    expect(wake).toBeDefined();
    expect(wake?.threadId).not.toBe(thread);
    expect(await p.executeTool("get", {})).toBe("");
    expect(p.usage.woke).toBe(false);
    expect(await p.executeTool("count", {})).toBe(2);
    expect(await other.executeTool("echo", { still: "works" })).toEqual({ still: "works" });
    await p.close();
    await other.close();
  });

  it("T90 a rate limit does not restart by hibernating: a plugin that used its log and get-env budget gets none after a wake", { timeout: 60_000 }, async () => {
    process.env.CLAWFT_T90_VAR = "t90";
    try {
      const p = await t.host.load({
        manifest: manifest("test.hib.rate", {
          env_vars: ["CLAWFT_T90_VAR"],
          resources: { max_log_messages_per_minute: 5, max_env_lookups_per_minute: 3 },
        }),
        wasm: await fixture("host-calls"),
        approvals: { env_vars: ["CLAWFT_T90_VAR"] },
      });
      const neighbour = await t.host.load({ manifest: manifest("test.hib.rate2"), wasm: await fixture("host-calls") });
      expect(await p.executeTool("log-many", [5])).toBe("ok");
      expect(logged(t, p.id, "log message 5")).toBe(1);
      for (let i = 0; i < 3; i++) expect(await p.executeTool("env", ["CLAWFT_T90_VAR"])).toBe("some:t90");
      await hibernated(p, p.hibernations);
      // Same minute, fresh instance: still over the plugin's limits.
      expect(await p.executeTool("log-many", [3])).toBe("ok");
      expect(p.usage.woke).toBe(true);
      expect(logged(t, p.id, "log message 1")).toBe(1);
      expect(await p.executeTool("env", ["CLAWFT_T90_VAR"])).toBe("none");
      // The limits are per plugin: a neighbour that hibernated too logs within its own.
      await hibernated(neighbour, 0);
      expect(await neighbour.executeTool("log", [2, "neighbour line"])).toBe("ok");
      expect(logged(t, neighbour.id, "neighbour line")).toBe(1);
      await p.close();
      await neighbour.close();
    } finally {
      delete process.env.CLAWFT_T90_VAR;
    }
  });

  it("T92 per-instance budgets hold after a wake: a memory hog woken from hibernation is still stopped at its cap, and its next call works", { timeout: 60_000 }, async () => {
    const hog = await t.host.load({ manifest: manifest("test.hib.hog"), wasm: await fixture("memory-hog") });
    await hibernated(hog, hog.hibernations);
    const e = await rejection(hog.executeTool("run", [64]));
    expect(ResourceExhaustedError.isInstance(e)).toBe(true);
    expect(e.kind).toBe("memory");
    expect(hog.usage.woke).toBe(true);
    await expect(hog.executeTool("run", [1])).resolves.toBe(16);
    await hog.close();
  });

  it("T92 a hibernated plugin holds no worker: closing it starts none, and its calls then reject with PLUGIN_CLOSED", { timeout: 60_000 }, async () => {
    const p = await t.host.load({ manifest: manifest("test.hib.closed"), wasm: await fixture("tool-basic") });
    await hibernated(p, p.hibernations);
    const started = events.length;
    await p.close();
    const e = await rejection(p.executeTool("echo", {}));
    expect(PluginError.isInstance(e) && e.code).toBe("PLUGIN_CLOSED");
    await sleep(IDLE_MS * 2);
    expect(events.slice(started).filter((ev) => ev.type === "start" && ev.pluginId === p.id)).toEqual([]);
    expect(p.hibernations).toBe(1);
  });
});

describe("T91 calls racing the hibernation", () => {
  it("T91 calls arriving at random moments around the idle timeout (2 ms) are each run exactly once, none lost", { timeout: 120_000 }, async () => {
    const t = testHost({ idleTimeoutMs: 2 });
    try {
      const p = await t.host.load({
        manifest: manifest("test.hib.race", { resources: { max_log_messages_per_minute: 10_000 } }),
        wasm: await fixture("host-calls"),
      });
      const wakes = (): number => events.filter((e) => e.type === "wake" && e.pluginId === p.id).length;
      const results: Promise<unknown>[] = [];
      let n = 0;
      for (let round = 0; round < 40; round++) {
        // One or a burst of calls, then a pause around the timeout.
        const burst = round % 5 === 0 ? 3 : 1;
        for (let b = 0; b < burst; b++) results.push(p.executeTool("log", [2, `race ${n++}`]));
        if (round % 2 === 0) await results[results.length - 1];
        await sleep(round % 4);
      }
      // A call queued from a timer of the same delay, armed right after a call settles:
      // it lands in the same timers pass as the hibernation, just after it.
      for (let i = 0; i < 5; i++) {
        await results[results.length - 1];
        await sleep(2);
        results.push(p.executeTool("log", [2, `race ${n++}`]));
      }
      const settled = await Promise.all(results);
      expect(settled).toEqual(results.map(() => "ok"));
      for (let i = 0; i < n; i++) expect(logged(t, p.id, `race ${i}`), `race ${i}`).toBe(1);
      expect(p.hibernations).toBeGreaterThan(0);
      // Every wake follows a hibernation; the last hibernation may not be woken yet.
      expect(wakes()).toBeLessThanOrEqual(p.hibernations);
      expect(wakes()).toBeGreaterThanOrEqual(p.hibernations - 1);
      await p.close();
    } finally {
      await t.host.close();
    }
  });
});
