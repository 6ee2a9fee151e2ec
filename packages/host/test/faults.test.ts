import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTempDir } from "@clawft/test-utils";
import { buildJsExamplePlugin, jsExampleManifest } from "@clawft/wasm-fixtures";
import { PluginError, ResourceExhaustedError, SandboxErrorForTests, WORKER_CHANNEL, type WorkerEvent } from "./faults-support.js";
import { fixture, fixtureWithFailingInit, fixtureWithTools, manifest, rejection, testHost, type TestHost } from "./helpers.js";

let t: TestHost;
const workerEvents: WorkerEvent[] = [];
const onWorker = (m: unknown): void => {
  workerEvents.push(m as WorkerEvent);
};

beforeAll(() => {
  subscribe(WORKER_CHANNEL, onWorker);
  t = testHost();
});

afterAll(async () => {
  await t.host.close();
  unsubscribe(WORKER_CHANNEL, onWorker);
});

describe("faults: each followed by a working call", () => {
  it("a guest trap rejects PLUGIN_TRAP; the next call runs on a fresh instance", async () => {
    const p = await t.host.load({ manifest: manifest("test.fault.trap"), wasm: await fixture("trap") });
    const first = await rejection(p.executeTool("run", {}));
    expect(PluginError.isInstance(first)).toBe(true);
    expect(first.code).toBe("PLUGIN_TRAP");
    expect(first.message).toContain("unreachable");
    // A reused trapped instance would say "cannot enter component instance": a fresh one traps the same way again.
    const second = await rejection(p.executeTool("run", {}));
    expect(second.code).toBe("PLUGIN_TRAP");
    expect(second.message).toContain("unreachable");
    await p.close();
  });

  it("a guest that traps after a failed grow (memory) is followed by a successful call on the same plugin", async () => {
    const p = await t.host.load({ manifest: manifest("test.fault.mem"), wasm: await fixture("memory-hog") });
    const error = await rejection(p.executeTool("run", [64]));
    expect(ResourceExhaustedError.isInstance(error)).toBe(true);
    await expect(p.executeTool("run", [2])).resolves.toBe(32);
    await p.close();
  });

  it("a host-call exception becomes err(\"host error\") for the guest, an `error` audit, a logged error; the next call works", async () => {
    let calls = 0;
    const th = testHost({
      sandbox: {
        createFileSystem: () => ({
          async readFile(path: string) {
            calls++;
            if (path === "boom") throw new Error("disk on fire");
            if (path === "refuse") throw new SandboxErrorForTests("FS_OUTSIDE_SANDBOX", "filesystem access denied: custom");
            return `content of ${path}`;
          },
          async writeFile() {},
        }),
      },
    });
    const filesystem = ["/nonexistent-grant-for-custom-fs"];
    const p = await th.host.load({
      manifest: manifest("test.fault.hostcall", { filesystem }),
      wasm: await fixture("host-calls"),
      approvals: { filesystem },
    });
    const error = await rejection(p.executeTool("read", ["boom"]));
    expect(error.code).toBe("PLUGIN_TOOL_ERROR");
    expect(error.message).toBe("host error");
    expect(th.events.at(-1)).toMatchObject({ function: "read-file", result: "error", code: "HOST_ERROR" });
    expect(th.logger.lines.at(-1)).toMatchObject({ level: "error", pluginId: "test.fault.hostcall" });
    expect(th.logger.lines.at(-1)?.message).toContain("disk on fire");
    const refused = await rejection(p.executeTool("read", ["refuse"]));
    expect(refused.message).toBe("filesystem access denied: custom");
    expect(th.events.at(-1)).toMatchObject({ result: "refused", code: "FS_OUTSIDE_SANDBOX" });
    await expect(p.executeTool("read", ["fine.txt"])).resolves.toBe("content of fine.txt");
    expect(calls).toBe(3);
    await th.host.close();
  });

  it("a worker crash (terminated from outside) rejects PLUGIN_CRASHED; the next call gets a new worker", async () => {
    const p = await t.host.load({
      manifest: manifest("test.fault.crash"),
      wasm: await fixtureWithTools("stateful", ["count"]),
    });
    expect(await p.executeTool("count", [])).toBe(1);
    const started = workerEvents.filter((e) => e.type === "start" && e.pluginId === "test.fault.crash");
    expect(started.length).toBe(1);
    const first = started[0] as Extract<WorkerEvent, { type: "start" }>;
    const loop = await t.host.load({
      manifest: manifest("test.fault.crash.loop"),
      wasm: await fixture("infinite-loop"),
    });
    expect(await p.executeTool("count", [])).toBe(2);
    // A crash while idle: no call fails; the next call gets a new worker (its state starts over).
    await first.worker.terminate();
    expect(await p.executeTool("count", [])).toBe(1);
    // The replacement, plus the next instance booted in advance now that this plugin's worker died once.
    expect(workerEvents.filter((e) => e.type === "start" && e.pluginId === "test.fault.crash").length).toBe(3);
    // A crash during a call: that call rejects PLUGIN_CRASHED, the next one works.
    const loopStart = workerEvents.filter((e) => e.type === "start" && e.pluginId === "test.fault.crash.loop");
    const running = loop.executeTool("run", {});
    setTimeout(() => void (loopStart[0] as Extract<WorkerEvent, { type: "start" }>).worker.terminate(), 50);
    const crashed = await rejection(running);
    expect(PluginError.isInstance(crashed)).toBe(true);
    expect(crashed.code).toBe("PLUGIN_CRASHED");
    expect(await p.executeTool("count", [])).toBe(2);
    const again = await rejection(loop.executeTool("run", {}));
    expect(again.kind).toBe("fuel");
    await p.close();
    await loop.close();
  });

  it("a worker that dies is replaced at once from a spare started in advance, then kept booted in advance; spares serve one plugin each and end with the host", async () => {
    const events: WorkerEvent[] = [];
    const record = (m: unknown): void => void events.push(m as WorkerEvent);
    subscribe(WORKER_CHANNEL, record);
    const th = testHost({ spareWorkers: 1 });
    const none = testHost({ spareWorkers: 0 });
    try {
      const a = await th.host.load({ manifest: manifest("test.spare.a"), wasm: await fixtureWithTools("stateful", ["count"]) });
      const b = await th.host.load({ manifest: manifest("test.spare.b"), wasm: await fixtureWithTools("stateful", ["count"]) });
      const spares = (): number[] => events.flatMap((e) => (e.type === "spare" ? [e.threadId] : []));
      const startsOf = (id: string): Array<Extract<WorkerEvent, { type: "start" }>> =>
        events.flatMap((e) => (e.type === "start" && e.pluginId === id ? [e] : []));
      // The first load found no spare (it started its own worker, and a spare); the second load
      // took that spare (and started the next).
      expect(spares()).not.toContain(startsOf("test.spare.a")[0]?.threadId);
      expect(startsOf("test.spare.b").map((e) => e.threadId)).toEqual([spares()[0]]);
      expect(spares().length).toBe(2);
      expect(await a.executeTool("count", [])).toBe(1);
      // A crash: the replacement boots right away (before any call asks for it), on the waiting spare.
      const waiting = spares()[1];
      const exited = new Promise<void>((resolve) => {
        const onExit = (m: unknown): void => {
          const e = m as WorkerEvent;
          if (e.type === "exit" && e.pluginId === "test.spare.a") {
            unsubscribe(WORKER_CHANNEL, onExit);
            resolve();
          }
        };
        subscribe(WORKER_CHANNEL, onExit);
      });
      await startsOf("test.spare.a")[0]?.worker.terminate();
      await exited;
      expect(startsOf("test.spare.a")[1]?.threadId).toBe(waiting);
      // The new instance starts from scratch (no state carried over), and the other plugin is untouched.
      expect(await a.executeTool("count", [])).toBe(1);
      expect(await b.executeTool("count", [])).toBe(1);
      // A plugin whose worker died once keeps its next instance booted in advance: a third worker
      // for `a` (and none for `b`, which never failed); after a second crash it serves at once.
      expect(startsOf("test.spare.a").length).toBe(3);
      expect(startsOf("test.spare.b").length).toBe(1);
      const standby = startsOf("test.spare.a")[2];
      await startsOf("test.spare.a")[1]?.worker.terminate();
      expect(await a.executeTool("count", [])).toBe(1);
      expect(await a.executeTool("count", [])).toBe(2);
      expect(startsOf("test.spare.a")[2]).toBe(standby);
      expect(startsOf("test.spare.a").length).toBe(4);
      // No worker ever served two plugins.
      const owners = new Map<number, Set<string>>();
      for (const e of events) if (e.type === "start") owners.set(e.threadId, (owners.get(e.threadId) ?? new Set()).add(e.pluginId));
      expect([...owners.values()].every((o) => o.size === 1)).toBe(true);
      await th.host.close();
      await new Promise((r) => setTimeout(r, 100));
      const everStarted = new Set(events.flatMap((e) => (e.type === "spare" || e.type === "start" ? [e.threadId] : [])));
      const ended = new Set(events.flatMap((e) => (e.type === "exit" ? [e.threadId] : [])));
      expect([...everStarted].filter((id) => !ended.has(id))).toEqual([]);

      // spareWorkers: 0 starts every worker on demand.
      const before = spares().length;
      const c = await none.host.load({ manifest: manifest("test.spare.none"), wasm: await fixture("tool-basic") });
      await expect(c.executeTool("echo", { x: 1 })).resolves.toEqual({ x: 1 });
      expect(spares().length).toBe(before);
    } finally {
      await th.host.close();
      await none.host.close();
      unsubscribe(WORKER_CHANNEL, record);
    }
  });

  it("usage.hostCalls counts only the call's own host calls, not those of an instance's init running in the background", { timeout: 120_000 }, async () => {
    // The JS example plugin logs from init; `greet` makes its own host calls (get-env).
    const js = await buildJsExamplePlugin();
    // The example's manifest in its component form: this is the full componentize-qjs build of its source.
    const jsManifest = await jsExampleManifest("component");
    const th = testHost({
      maxModuleBytes: 4 * 1024 * 1024,
      maxModuleGzipBytes: 2 * 1024 * 1024,
      approve: () => true,
      sandbox: { env: { EXAMPLE_GREETING: "Hei" } },
    });
    const dir = await createTempDir("clawft-usage-");
    const events: WorkerEvent[] = [];
    const record = (m: unknown): void => void events.push(m as WorkerEvent);
    subscribe(WORKER_CHANNEL, record);
    try {
      const p = await th.host.load({ manifest: jsManifest, wasm: js, baseDir: dir.path });
      await p.executeTool("greet", { name: "Ada" });
      const own = p.usage.hostCalls;
      expect(own).toBeGreaterThan(0);
      for (let crash = 0; crash < 2; crash++) {
        const active = events.filter((e) => e.type === "active" && e.pluginId === p.id).at(-1);
        if (active?.type === "active") await active.worker.terminate();
        // The replacement's init ran before this call; the next instance boots during it.
        await p.executeTool("greet", { name: "Ada" });
        expect(p.usage.hostCalls).toBe(own);
      }
      await new Promise((r) => setTimeout(r, 500));
      await p.executeTool("greet", { name: "Ada" });
      expect(p.usage.hostCalls).toBe(own);
      // Each init's log was audited all the same: more log events than the calls alone made.
      expect(th.events.filter((e) => e.function === "log").length).toBeGreaterThanOrEqual(3);
    } finally {
      await th.host.close();
      unsubscribe(WORKER_CHANNEL, record);
      await dir.cleanup();
    }
  });

  it("init returning err rejects the load with PLUGIN_INIT_FAILED carrying the guest text", async () => {
    const error = await rejection(
      t.host.load({ manifest: manifest("test.fault.init"), wasm: await fixtureWithFailingInit("tool-basic") }),
    );
    expect(PluginError.isInstance(error)).toBe(true);
    expect(error.code).toBe("PLUGIN_INIT_FAILED");
    expect(error.message).toContain("unknown tool");
  });

  it("every worker started is gone after close (no leaked workers)", async () => {
    await t.host.close();
    await new Promise((r) => setTimeout(r, 100));
    // Spares included: a worker taken for a load that then failed (init error, consent) is ended too.
    const started = new Set(workerEvents.filter((e) => e.type === "start" || e.type === "spare").map((e) => e.threadId));
    const exited = new Set(workerEvents.filter((e) => e.type === "exit").map((e) => e.threadId));
    expect(started.size).toBeGreaterThan(0);
    expect([...started].filter((id) => !exited.has(id))).toEqual([]);
    t = testHost();
  });
});
