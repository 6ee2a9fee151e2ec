import { readFile } from "node:fs/promises";
import { parse } from "@bytecodealliance/jco";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PluginError } from "@clawft/host";
import { fixture, manifest, rejection, testHost, type TestHost } from "./helpers.js";

/** A hand-written component (jco's `parse` reads component text) from test/fixtures/<name>/component.wat. */
async function handWritten(name: string): Promise<Uint8Array> {
  return parse(await readFile(new URL(`./fixtures/${name}/component.wat`, import.meta.url), "utf8"));
}

const SECRET = "h4-secret-value";
let t: TestHost;

beforeAll(() => {
  // The env the host serves get-env from: a component that reached the real get-env would read this.
  t = testHost({ sandbox: { env: { CLAWFT_H4_SECRET: SECRET } } });
});

afterAll(async () => {
  await t.host.close();
});

/** After a refusal, the host still loads and runs plugins: another one, and the same id again. */
async function hostStillWorks(id: string): Promise<void> {
  const other = await t.host.load({ manifest: manifest(`${id}.after`), wasm: await fixture("tool-basic") });
  await expect(other.executeTool("echo", { after: id })).resolves.toEqual({ after: id });
  await expect(other.executeTool("echo", [2])).resolves.toEqual([2]);
  await other.close();
}

describe("load-time work is bounded (issue 13, items 4 and 5)", () => {
  it("T58 a component whose extra export has a tuple type doubling over 14 levels is refused before code generation (PLUGIN_TOO_COMPLEX)", async () => {
    const bomb = await fixture("nested-types");
    const error = await rejection(t.host.load({ manifest: manifest("test.bomb"), wasm: bomb }));
    expect(PluginError.isInstance(error)).toBe(true);
    expect(error.code).toBe("PLUGIN_TOO_COMPLEX");
    expect(error.message).toBe("component too complex: expanded type size 8191 exceeds 4096 (maxTypeSize)");
    // Refused again the same way (no verdict is cached for a refused component).
    expect((await rejection(t.host.load({ manifest: manifest("test.bomb"), wasm: bomb }))).code).toBe("PLUGIN_TOO_COMPLEX");
    await hostStillWorks("test.bomb");
  });

  it("T59 a component with an extra export interface is refused at load (PLUGIN_UNKNOWN_EXPORT)", async () => {
    const error = await rejection(t.host.load({ manifest: manifest("test.extra"), wasm: await fixture("extra-export") }));
    expect(PluginError.isInstance(error)).toBe(true);
    expect(error.code).toBe("PLUGIN_UNKNOWN_EXPORT");
    expect(error.message).toMatch(/^unknown export: admin is an interface \(a clawft plugin exports only the plugin interface/);
    await hostStillWorks("test.extra");
  });

  it("T60 a component that imports nothing but whose core module imports host/log and host/get-env (wired to its own stub) is refused at load", async () => {
    const unwired = await handWritten("unwired-host");
    const env_vars = ["CLAWFT_H4_SECRET"];
    const error = await rejection(t.host.load({ manifest: manifest("test.unwired", { env_vars }), wasm: unwired, approvals: { env_vars } }));
    expect(PluginError.isInstance(error)).toBe(true);
    expect(error.code).toBe("PLUGIN_UNWIRED_HOST_IMPORT");
    expect(error.message).toBe(
      "host import not wired: core imports host/get-env, host/log are not lowered from the component's host import (it declares none)",
    );
    // Nothing was logged or read on its behalf.
    expect(t.logger.lines.filter((l) => l.pluginId === "test.unwired")).toEqual([]);
    expect(t.events.filter((e) => e.pluginId === "test.unwired")).toEqual([]);
    await hostStillWorks("test.unwired");
  });
});

describe("load work runs off the main thread (T62)", () => {
  it("T62 the scan, world check, transpile and metering of an uncached component run in the load worker, not the main thread", async () => {
    const { subscribe, unsubscribe } = await import("node:diagnostics_channel");
    const { threadId } = await import("node:worker_threads");
    const seen: Array<{ op: string; threadId: number; steps: string[] }> = [];
    const onLoad = (message: unknown): void => {
      seen.push(message as { op: string; threadId: number; steps: string[] });
    };
    subscribe("clawft:load", onLoad);
    // A host without a disk cache: the component is uncached for it.
    const fresh = testHost({ cacheDir: undefined });
    try {
      const p = await fresh.host.load({ manifest: manifest("test.offthread"), wasm: await fixture("tool-basic") });
      await expect(p.executeTool("echo", { ok: true })).resolves.toEqual({ ok: true });
      const bomb = await rejection(fresh.host.load({ manifest: manifest("test.offthread.bomb"), wasm: await fixture("nested-types") }));
      expect(bomb.code).toBe("PLUGIN_TOO_COMPLEX");
      // The next call and another plugin still work after the refusal.
      await expect(p.executeTool("echo", [1])).resolves.toEqual([1]);
      const other = await fresh.host.load({ manifest: manifest("test.offthread.other"), wasm: await fixture("host-calls") });
      await other.close();
      await p.close();
    } finally {
      unsubscribe("clawft:load", onLoad);
      await fresh.host.close();
    }
    expect(seen.map((e) => e.op)).toEqual(["check", "prepare", "check", "prepare"]);
    for (const event of seen) {
      expect(event.threadId).not.toBe(threadId);
      expect(event.threadId).toBeGreaterThan(0);
    }
    // One worker for the host's loads.
    expect(new Set(seen.map((e) => e.threadId)).size).toBe(1);
    expect(seen[0]?.steps).toEqual(["scan", "world-check"]);
    expect(seen[1]?.steps).toEqual(["scan", "transpile", "meter:plugin.core.wasm", "meter:plugin.core2.wasm", "meter:plugin.core3.wasm", "code-cache"]);
  });
});
