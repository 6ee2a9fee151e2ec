import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { readFile, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  HOST_AUDIT_CHANNEL,
  HostOptionsError,
  PluginError,
  createHost,
  createJsonlAuditSink,
  type AuditEvent,
  type ConsentRequest,
} from "@clawft/host";
import { createTempDir, startLoopbackServer } from "@clawft/test-utils";
import { buildJsExamplePlugin, jsExampleManifest } from "@clawft/wasm-fixtures";
import { fixture, fixtureWithTools, manifest, rejection, testHost, type TestHost } from "./helpers.js";

let t: TestHost;
beforeAll(() => {
  t = testHost();
});
afterAll(async () => {
  await t.host.close();
});

describe("createHost options", () => {
  it("refuses unknown keys and bad values, naming the field", () => {
    const cases: Array<[unknown, string]> = [
      [{ nope: 1 }, "unknown option: nope"],
      [{ audit: "x" }, "audit must be a function"],
      [{ logger: { error() {} } }, "logger.warn must be a function"],
      [{ cacheDir: "relative/dir" }, "cacheDir must be an absolute path"],
      [{ allowPrivateCidrs: ["not a cidr"] }, "allowPrivateCidrs[0] must be a CIDR"],
      // What the sandboxes' own parser refuses is refused here too (a /33 or five octets once passed a regex).
      [{ allowPrivateCidrs: ["127.0.0.1/32", "10.0.0.0/33"] }, "allowPrivateCidrs[1] must be a CIDR"],
      [{ allowPrivateCidrs: ["1.2.3.4.5/8"] }, "allowPrivateCidrs[0] must be a CIDR"],
      [{ maxModuleBytes: 1000 }, "maxModuleBytes can only raise the limit"],
      [{ maxModuleGzipBytes: -1 }, "maxModuleGzipBytes must be a positive integer"],
      [{ hardLimits: { maxFuel: 1e11 } }, "hardLimits.maxFuel must be at most"],
      [{ hardLimits: { maxCats: 1 } }, "unknown option: hardLimits.maxCats"],
      [{ sandbox: { createShell: () => 1 } }, "unknown option: sandbox.createShell"],
      [{ wasi: "preview2" }, 'wasi must be "refuse" or "deny"'],
      [{ spareWorkers: -1 }, "spareWorkers must be an integer from 0 to 8"],
      [{ spareWorkers: 1.5 }, "spareWorkers must be an integer from 0 to 8"],
      [{ spareWorkers: 9 }, "spareWorkers must be an integer from 0 to 8"],
      [{ idleTimeoutMs: -1 }, "idleTimeoutMs must be an integer from 0 to 2147483647"],
      [{ idleTimeoutMs: 2.5 }, "idleTimeoutMs must be an integer from 0 to 2147483647"],
      [{ idleTimeoutMs: "1000" }, "idleTimeoutMs must be an integer from 0 to 2147483647"],
      [{ idleTimeoutMs: 2 ** 31 }, "idleTimeoutMs must be an integer from 0 to 2147483647"],
    ];
    for (const [options, message] of cases) {
      let error: unknown;
      try {
        createHost(options as never);
      } catch (e) {
        error = e;
      }
      expect(HostOptionsError.isInstance(error), JSON.stringify(options)).toBe(true);
      expect((error as Error & { code: string }).code).toBe("HOST_INVALID_OPTIONS");
      expect((error as Error).message.startsWith(message), (error as Error).message).toBe(true);
    }
  });
});

describe("loading", () => {
  it("describe() is synchronous: the validated object captured at load", async () => {
    const p = await t.host.load({ manifest: manifest("test.api.describe"), wasm: await fixture("tool-basic") });
    const d = p.describe();
    expect(d.name).toBe("tool-basic");
    expect(d.tools.map((x) => x.name)).toEqual(["echo", "fail"]);
    expect(p.id).toBe("test.api.describe");
    expect(p.version).toBe("1.0.0");
    await p.close();
  });

  it("a wasi:* import is refused at load, naming the import", async () => {
    const error = await rejection(t.host.load({ manifest: manifest("test.api.wasi"), wasm: await fixture("wasi-import") }));
    expect(PluginError.isInstance(error)).toBe(true);
    expect(error.code).toBe("PLUGIN_FORBIDDEN_IMPORT");
    expect(error.message).toContain("wasi:cli/environment@0.2.3");
  });

  it('with wasi: "deny" the operator opts in to deny-everything WASI stubs (empty environment)', async () => {
    const th = testHost({ wasi: "deny" });
    const p = await th.host.load({ manifest: manifest("test.api.wasi.deny"), wasm: await fixture("wasi-import") });
    // get-environment answers an empty list whatever the host's environment holds.
    expect(Object.keys(process.env).length).toBeGreaterThan(0);
    await expect(p.executeTool("run", {})).resolves.toBe(0);
    await th.host.close();
  });

  it("an import outside the world, or host with a wrong type, is refused (PLUGIN_FORBIDDEN_IMPORT)", async () => {
    for (const name of ["extra-import", "wrong-import-type"] as const) {
      const error = await rejection(t.host.load({ manifest: manifest(`test.api.${name}`), wasm: await fixture(name) }));
      expect(error.code, name).toBe("PLUGIN_FORBIDDEN_IMPORT");
      // The message names the import once, starting with the refusal's text.
      expect(error.message, name).toMatch(/^forbidden import: (shell|host)/);
      expect(error.message, name).not.toMatch(/forbidden import: forbidden import/);
    }
  });

  it("wrong or missing exports, a core module and garbage are refused (PLUGIN_INVALID)", async () => {
    for (const name of ["wrong-export-type", "missing-export"] as const) {
      const error = await rejection(t.host.load({ manifest: manifest(`test.api.${name}`), wasm: await fixture(name) }));
      expect(error.code, name).toBe("PLUGIN_INVALID");
    }
    const core = new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]);
    expect((await rejection(t.host.load({ manifest: manifest("test.api.core"), wasm: core }))).code).toBe("PLUGIN_INVALID");
    const garbage = new Uint8Array(100).fill(7);
    expect((await rejection(t.host.load({ manifest: manifest("test.api.garbage"), wasm: garbage }))).code).toBe("PLUGIN_INVALID");
  });

  it("a bad manifest is refused naming the field (PLUGIN_INVALID_MANIFEST)", async () => {
    const error = await rejection(
      t.host.load({ manifest: { ...manifest("test.api.badmanifest"), version: "one" }, wasm: await fixture("tool-basic") }),
    );
    expect(error.code).toBe("PLUGIN_INVALID_MANIFEST");
    expect(error.message).toContain("version");
  });

  it("a module over 300 KB is refused (PLUGIN_TOO_LARGE); the operator can raise the limit for the ~1 MB JS plugin", async () => {
    const js = await buildJsExamplePlugin();
    expect(js.byteLength).toBeGreaterThan(300 * 1024);
    // The example's manifest in its component form: this is the full componentize-qjs build of its source.
    const jsManifest = await jsExampleManifest("component");
    const small = await rejection(t.host.load({ manifest: jsManifest, wasm: js }));
    expect(small.code).toBe("PLUGIN_TOO_LARGE");
    expect(small.message.startsWith("module too large")).toBe(true);

    const dir = await createTempDir("clawft-host-js-");
    const server = await startLoopbackServer((_req, res) => {
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ items: [1, 2, 3], name: "demo" }));
    });
    try {
      const big = testHost({
        maxModuleBytes: 4 * 1024 * 1024,
        maxModuleGzipBytes: 2 * 1024 * 1024,
        resolve: async (h) => (h === "api.example.com" ? ["127.0.0.1"] : Promise.reject(new Error("unknown"))),
        allowPrivateCidrs: ["127.0.0.1/32"],
        sandbox: { env: { EXAMPLE_GREETING: "Bonjour" } },
        approve: () => true,
      });
      const p = await big.host.load({ manifest: jsManifest, wasm: js, baseDir: dir.path });
      expect(p.describe().tools.map((x) => x.name)).toContain("greet");
      expect(JSON.stringify(await p.executeTool("greet", { name: "Ada" }))).toContain("Bonjour");
      const summary = await p.executeTool("summarize-json", { url: `http://api.example.com:${server.port}/data.json` });
      expect(JSON.stringify(summary)).toContain("items");
      await p.executeTool("write-note", { path: "hello.txt", text: "from js" });
      expect((await readFile(join(dir.path, "notes", "hello.txt"), "utf8")).trim()).toBe("from js");
      expect(big.events.map((e) => e.function)).toEqual(expect.arrayContaining(["get-env", "http-request", "write-file"]));
      await big.host.close();
    } finally {
      await server.close();
      await dir.cleanup();
    }
  });
});

describe("consent at load", () => {
  it("T40 env vars not covered by approvals are asked for; refused unless approve returns true", async () => {
    const asked: ConsentRequest[] = [];
    const th = testHost({ approve: (r) => (asked.push(r), false) });
    const m = manifest("test.consent.env", { env_vars: ["A_VAR", "B_VAR"], network: ["api.test"] });
    const error = await rejection(
      th.host.load({ manifest: m, wasm: await fixture("host-calls"), approvals: { network: ["api.test"], env_vars: ["A_VAR"] } }),
    );
    expect(PluginError.isInstance(error)).toBe(true);
    expect(error.code).toBe("PLUGIN_CONSENT_DENIED");
    expect(asked).toEqual([
      { pluginId: "test.consent.env", version: "1.0.0", permissions: { network: [], filesystem: [], env_vars: ["B_VAR"], shell: false } },
    ]);
    await th.host.close();
  });

  it("T39 shell: true is refused unless approved (and asked for)", async () => {
    const m = manifest("test.consent.shell", { shell: true });
    const none = await rejection(t.host.load({ manifest: m, wasm: await fixture("tool-basic") }));
    expect(none.code).toBe("PLUGIN_CONSENT_DENIED");
    expect(none.message).toContain("shell");
    let asked: ConsentRequest | undefined;
    const th = testHost({ approve: async (r) => ((asked = r), true) });
    const p = await th.host.load({ manifest: m, wasm: await fixture("tool-basic") });
    expect(asked?.permissions.shell).toBe(true);
    await expect(p.executeTool("echo", { ok: 1 })).resolves.toEqual({ ok: 1 });
    await th.host.close();
  });

  it("nothing is asked when approvals cover every permission; an approve that throws refuses", async () => {
    let calls = 0;
    const th = testHost({ approve: () => (++calls, Promise.reject(new Error("ui closed"))) });
    const network = ["api.test"];
    const p = await th.host.load({ manifest: manifest("test.consent.ok", { network }), wasm: await fixture("host-calls"), approvals: { network } });
    expect(calls).toBe(0);
    await p.close();
    const error = await rejection(th.host.load({ manifest: manifest("test.consent.throw", { network }), wasm: await fixture("host-calls") }));
    expect(error.code).toBe("PLUGIN_CONSENT_DENIED");
    expect(calls).toBe(1);
    await th.host.close();
  });
});

describe("calls", () => {
  it("params are sent as params-json; a JSON result is parsed, a tool err rejects PLUGIN_TOOL_ERROR with the guest text", async () => {
    const p = await t.host.load({ manifest: manifest("test.api.calls"), wasm: await fixture("tool-basic") });
    const params = { a: [1, 2, { b: "ü€😀" }], c: null };
    await expect(p.executeTool("echo", params)).resolves.toEqual(params);
    await expect(p.executeTool("echo", "text")).resolves.toBe("text");
    await expect(p.executeTool("echo")).resolves.toBeNull();
    const error = await rejection(p.executeTool("fail", {}));
    expect(PluginError.isInstance(error)).toBe(true);
    expect(error.code).toBe("PLUGIN_TOOL_ERROR");
    expect(error.message).toBe("fail: this tool always fails");
    expect(p.usage).toMatchObject({ hostCalls: 0 });
    expect(p.usage.fuelUsed).toBeGreaterThan(0);
    expect(p.usage.durationMs).toBeGreaterThan(0);
    await p.close();
  });

  it("a tool that describe() does not declare is refused (PLUGIN_UNKNOWN_TOOL) without running the guest", async () => {
    const p = await t.host.load({ manifest: manifest("test.api.unknown"), wasm: await fixture("tool-basic") });
    const error = await rejection(p.executeTool("rm -rf", {}));
    expect(error.code).toBe("PLUGIN_UNKNOWN_TOOL");
    await expect(p.executeTool("echo", 1)).resolves.toBe(1);
    await p.close();
  });

  it("params too large for the wire or the guest are refused before the call", async () => {
    const p = await t.host.load({ manifest: manifest("test.api.bigparams"), wasm: await fixture("tool-basic") });
    const error = await rejection(p.executeTool("echo", "x".repeat(9 * 1024 * 1024)));
    expect(error).toBeInstanceOf(RangeError);
    expect(error.message.startsWith("params-json is too large")).toBe(true);
    await expect(p.executeTool("echo", "still fine")).resolves.toBe("still fine");
    await p.close();
  });

  it("a result that is not JSON comes back as the raw string", async () => {
    const p = await t.host.load({ manifest: manifest("test.api.raw"), wasm: await fixture("host-calls") });
    await expect(p.executeTool("env", ["NOPE"])).resolves.toBe("none");
    await p.close();
  });

  it("concurrent calls on one plugin are queued and run one at a time, in order", async () => {
    const p = await t.host.load({ manifest: manifest("test.api.queue"), wasm: await fixtureWithTools("stateful", ["count"]) });
    const results = await Promise.all(Array.from({ length: 25 }, () => p.executeTool("count", [])));
    expect(results).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
    await p.close();
  });

  it("after close, calls (running, queued, new) reject PLUGIN_CLOSED; after host.close, load does too", async () => {
    const th = testHost();
    const p = await th.host.load({ manifest: manifest("test.api.closed"), wasm: await fixture("tool-basic") });
    await p.close();
    expect((await rejection(p.executeTool("echo", 1))).code).toBe("PLUGIN_CLOSED");
    const loop = await th.host.load({ manifest: manifest("test.api.closed.loop"), wasm: await fixture("infinite-loop") });
    const running = loop.executeTool("run", {});
    const queued = loop.executeTool("run", {});
    await new Promise((r) => setTimeout(r, 50));
    await loop.close();
    expect((await rejection(running)).code).toBe("PLUGIN_CLOSED");
    expect((await rejection(queued)).code).toBe("PLUGIN_CLOSED");
    await th.host.close();
    expect((await rejection(th.host.load({ manifest: manifest("test.api.closed2"), wasm: await fixture("tool-basic") }))).code).toBe(
      "PLUGIN_CLOSED",
    );
  });
});

describe("audit sinks", () => {
  it("T42 every host call: one event to the sink, the JSONL file and the clawft:host channel, before executeTool settles", async () => {
    const dir = await createTempDir("clawft-host-audit-");
    const file = join(dir.path, "audit", "events.jsonl");
    const sink = createJsonlAuditSink(file);
    const onChannel: AuditEvent[] = [];
    const listener = (m: unknown): void => void onChannel.push(m as AuditEvent);
    subscribe(HOST_AUDIT_CHANNEL, listener);
    try {
      const th = testHost({ audit: sink });
      const p = await th.host.load({ manifest: manifest("test.audit.jsonl"), wasm: await fixture("host-calls") });
      await p.executeTool("log", [2, "one"]);
      // Delivered before the promise settled: the file already holds it.
      const afterOne = (await readFile(file, "utf8")).trim().split("\n");
      expect(afterOne.length).toBe(1);
      await p.executeTool("env", ["SOMETHING"]);
      await rejection(p.executeTool("read", ["/etc/passwd"]));
      sink.close();
      const lines = (await readFile(file, "utf8")).trim().split("\n").map((l) => JSON.parse(l) as AuditEvent);
      expect(lines.map((e) => [e.pluginId, e.function, e.result])).toEqual([
        ["test.audit.jsonl", "log", "ok"],
        ["test.audit.jsonl", "get-env", "refused"],
        ["test.audit.jsonl", "read-file", "refused"],
      ]);
      for (const e of lines) {
        expect(typeof e.durationMs).toBe("number");
        expect(typeof e.timestamp).toBe("number");
      }
      expect(onChannel.filter((e) => e.pluginId === "test.audit.jsonl").length).toBe(3);
      await th.host.close();
    } finally {
      unsubscribe(HOST_AUDIT_CHANNEL, listener);
      await dir.cleanup();
    }
  });

  it("an audit sink that throws does not change what the plugin sees", async () => {
    const th = testHost({ audit: () => { throw new Error("sink down"); } });
    const p = await th.host.load({ manifest: manifest("test.audit.throw"), wasm: await fixture("host-calls") });
    await expect(p.executeTool("log", [2, "x"])).resolves.toBe("ok");
    await th.host.close();
  });
});

describe("compile cache", () => {
  it("writes an entry to cacheDir and loads from it; a corrupted entry is rebuilt", async () => {
    const dir = await createTempDir("clawft-host-cache-");
    try {
      const a = testHost({ cacheDir: dir.path });
      const p = await a.host.load({ manifest: manifest("test.cache.a"), wasm: await fixture("tool-basic") });
      await a.host.close();
      // One compiled entry (plus `checked/`, the world-check verdicts).
      const entries = (await readdir(dir.path)).filter((n) => !n.startsWith(".") && n !== "checked");
      expect(entries.length).toBe(1);
      expect(await readdir(join(dir.path, "checked"))).toHaveLength(1);
      const entry = join(dir.path, entries[0] as string);
      expect((await readdir(entry)).sort()).toEqual(expect.arrayContaining(["glue.js", "index.json", "plugin.core.wasm"]));
      const b = testHost({ cacheDir: dir.path });
      const q = await b.host.load({ manifest: manifest("test.cache.b"), wasm: await fixture("tool-basic") });
      await expect(q.executeTool("echo", [1])).resolves.toEqual([1]);
      await b.host.close();
      await writeFile(join(entry, "plugin.core.wasm"), new Uint8Array([0, 1, 2, 3]));
      const c = testHost({ cacheDir: dir.path });
      const r = await c.host.load({ manifest: manifest("test.cache.c"), wasm: await fixture("tool-basic") });
      await expect(r.executeTool("echo", [2])).resolves.toEqual([2]);
      await c.host.close();
      void p;
    } finally {
      await dir.cleanup();
    }
  });
});
