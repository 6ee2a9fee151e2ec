/**
 * JS plugins ("runtime": "js", issue 16): a plugin that ships only its bundled JS, run by
 * the trusted engine of @clawft/plugin-js in its own metered instance.
 */
import { randomBytes } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTempDir } from "@clawft/test-utils";
import { JS_ENGINE_SHA256, jsEngine } from "@clawft/plugin-js";
import { PluginError, ResourceExhaustedError } from "@clawft/host";
import { fixture, manifest, rejection, testHost, type TestHost } from "./helpers.js";

let t: TestHost;

beforeAll(() => {
  t = testHost();
});

afterAll(async () => {
  await t.host.close();
});

const TOOLS = ["echo", "spin", "env", "import", "grow", "throw"];

/** A js plugin's bundled JS: `top` runs at its top level, `init` in init; tools dispatch on name. */
function pluginJs(opts: { top?: string; init?: string } = {}): string {
  return `"use strict";
const host = require("host");
${opts.top ?? ""}
const tools = ${JSON.stringify(TOOLS)};
module.exports.plugin = {
  init() { ${opts.init ?? ""} },
  describe() {
    return JSON.stringify({ name: "js-test", version: "0.1.0", tools: tools.map((name) => ({ name, description: name, parameters: { type: "object" } })) });
  },
  executeTool(name, paramsJson) {
    const params = JSON.parse(paramsJson);
    switch (name) {
      case "echo": host.log(2, "echo"); return JSON.stringify({ echo: params });
      case "spin": for (;;) {}
      case "env": return JSON.stringify({ value: host.getEnv(params.name) });
      case "import": import(params.specifier).then(() => host.log(2, "import loaded"), (e) => host.log(2, "import failed: " + e)); return "import started";
      case "grow": { const keep = []; for (;;) keep.push(new Array(65536).fill(keep.length)); }
      case "throw": throw "refused by the plugin";
    }
    throw "unknown tool " + name;
  },
};
`;
}

function jsManifest(id: string, resources?: Record<string, number>): Record<string, unknown> {
  return { ...manifest(id, resources ? { resources } : {}), runtime: "js", main: "dist/plugin.js" };
}

describe("JS plugins: load and run", () => {
  it("runs a js plugin's tools through the host import; its JS is text or UTF-8 bytes", async () => {
    const p = await t.host.load({ manifest: jsManifest("test.js.echo"), js: pluginJs() });
    expect(p.describe().tools.map((tool) => tool.name)).toEqual(TOOLS);
    await expect(p.executeTool("echo", { a: 1 })).resolves.toEqual({ echo: { a: 1 } });
    expect(p.usage.hostCalls).toBe(1);
    expect(p.usage.fuelUsed).toBeGreaterThan(0);
    expect(t.logger.lines).toContainEqual({ level: "info", message: "echo", pluginId: "test.js.echo" });
    const bytes = await t.host.load({ manifest: jsManifest("test.js.bytes"), js: Buffer.from(pluginJs()) });
    await expect(bytes.executeTool("echo", 2)).resolves.toEqual({ echo: 2 });
    await Promise.all([p.close(), bytes.close()]);
  });

  it("an err the plugin throws is PLUGIN_TOOL_ERROR with its text; the next call works", async () => {
    const p = await t.host.load({ manifest: jsManifest("test.js.throw"), js: pluginJs() });
    const error = await rejection(p.executeTool("throw", {}));
    expect(error.code).toBe("PLUGIN_TOOL_ERROR");
    expect(error.message).toBe("refused by the plugin");
    await expect(p.executeTool("echo", 1)).resolves.toEqual({ echo: 1 });
    await p.close();
  });

  it("loads from a folder: main inside the folder, read as the manifest says", async () => {
    const dir = await createTempDir("clawft-js-dir-");
    await mkdir(join(dir.path, "dist"));
    await writeFile(join(dir.path, "dist", "plugin.js"), pluginJs());
    await writeFile(join(dir.path, "clawft.plugin.json"), JSON.stringify(jsManifest("test.js.folder")));
    const p = await t.host.loadFromDirectory(dir.path);
    await expect(p.executeTool("echo", "x")).resolves.toEqual({ echo: "x" });
    await p.close();
    await writeFile(join(dir.path, "clawft.plugin.json"), JSON.stringify({ ...jsManifest("test.js.folder"), main: "dist/missing.js" }));
    const missing = await rejection(t.host.loadFromDirectory(dir.path));
    expect(missing.code).toBe("PLUGIN_INVALID");
    expect(missing.message).toBe("main not found: dist/missing.js");
    await dir.cleanup();
  });

  it("refuses js for a component manifest and wasm for a js manifest", async () => {
    const asComponent = await rejection(t.host.load({ manifest: manifest("test.js.kind1"), js: pluginJs() } as never));
    expect(asComponent.code).toBe("PLUGIN_INVALID");
    expect(asComponent.message).toBe('js needs a manifest with "runtime": "js" (this one runs a component: pass wasm)');
    const asJs = await rejection(t.host.load({ manifest: jsManifest("test.js.kind2"), wasm: await fixture("tool-basic") } as never));
    expect(asJs.code).toBe("PLUGIN_INVALID");
    expect(asJs.message).toBe('manifest says "runtime": "js": pass its bundled JS as js, not wasm');
    const notUtf8 = await rejection(t.host.load({ manifest: jsManifest("test.js.kind3"), js: new Uint8Array([0x66, 0xff, 0xfe]) }));
    expect(notUtf8.code).toBe("PLUGIN_INVALID");
    expect(notUtf8.message).toBe("js plugin is not UTF-8 text");
  });
});

describe("JS plugins: size limits cover the plugin's JS, not the engine", () => {
  it("T80 a js plugin whose JS is over 300 KB, or over 120 KB gzipped, is refused (PLUGIN_TOO_LARGE); the engine (1.1 MB) is exempt; the next load and another plugin work", async () => {
    const big = `${pluginJs()}\n//${"x".repeat(310 * 1024)}`;
    const tooBig = await rejection(t.host.load({ manifest: jsManifest("test.js.big"), js: big }));
    expect(PluginError.isInstance(tooBig)).toBe(true);
    expect(tooBig.code).toBe("PLUGIN_TOO_LARGE");
    expect(tooBig.message).toBe(`module too large: ${Buffer.byteLength(big)} bytes uncompressed (limit 307200)`);
    // Incompressible: 200 KB of random base64 is under 300 KB but over 120 KB gzipped.
    const noisy = `${pluginJs()}\nconst noise = ${JSON.stringify(randomBytes(150 * 1024).toString("base64"))};`;
    expect(Buffer.byteLength(noisy)).toBeLessThan(307200);
    const tooNoisy = await rejection(t.host.load({ manifest: jsManifest("test.js.noisy"), js: noisy }));
    expect(tooNoisy.code).toBe("PLUGIN_TOO_LARGE");
    expect(tooNoisy.message).toMatch(/^module too large: \d+ bytes gzipped \(limit 122880\)$/);
    // The same plugin with its JS within the limits loads on the 1.1 MB engine, with default limits.
    const small = await t.host.load({ manifest: jsManifest("test.js.big"), js: pluginJs() });
    await expect(small.executeTool("echo", 1)).resolves.toEqual({ echo: 1 });
    const other = await t.host.load({ manifest: manifest("test.js.other-component"), wasm: await fixture("tool-basic") });
    await expect(other.executeTool("echo", { x: 1 })).resolves.toBeDefined();
    await Promise.all([small.close(), other.close()]);
  });
});

describe("JS plugins: the payload reaches nothing but the host import", () => {
  it("T81 require() of anything but host refuses the load; a dynamic import() loads nothing; the next call and another plugin work", async () => {
    const fsRequire = await rejection(t.host.load({ manifest: jsManifest("test.js.require"), js: `require("fs");\n${pluginJs()}` }));
    expect(fsRequire.code).toBe("PLUGIN_INIT_FAILED");
    expect(fsRequire.message).toBe('plugin init failed: js plugin threw while loading: js plugin cannot require "fs": bundle it (only "host" is external)');
    const p = await t.host.load({ manifest: jsManifest("test.js.import"), js: pluginJs() });
    const other = await t.host.load({ manifest: jsManifest("test.js.import-other"), js: pluginJs() });
    // The engine runs no module loader for the payload: a dynamic import() never loads
    // anything (its promise never settles: not even "host" or a file next to the plugin).
    for (const specifier of ["./other.js", "fs", "host", "componentize-qjs:shim.js"]) {
      await expect(p.executeTool("import", { specifier })).resolves.toBe("import started");
    }
    await expect(p.executeTool("echo", 1)).resolves.toEqual({ echo: 1 });
    expect(t.logger.lines.filter((l) => l.pluginId === "test.js.import").map((l) => l.message)).toEqual(["echo"]);
    await expect(other.executeTool("echo", 2)).resolves.toEqual({ echo: 2 });
    await Promise.all([p.close(), other.close()]);
  });

  it("T81 a payload that rewrites its globals changes only its own engine instance; env stays behind the grant", async () => {
    const evil = pluginJs({ top: `JSON.stringify = () => "hijacked"; globalThis.shared = "mine"; Object.prototype.polluted = true;` });
    const p = await t.host.load({ manifest: jsManifest("test.js.globals"), js: evil }).catch((e: unknown) => e as Error);
    // Its own describe() now answers "hijacked": the host refuses that plugin, nothing else.
    expect((p as PluginError).code).toBe("PLUGIN_INVALID_DESCRIBE");
    const other = await t.host.load({ manifest: jsManifest("test.js.globals-other"), js: pluginJs() });
    await expect(other.executeTool("echo", { polluted: "no" })).resolves.toEqual({ echo: { polluted: "no" } });
    await expect(other.executeTool("env", { name: "PATH" })).resolves.toEqual({ value: null });
    await other.close();
  });

  it("T81 a component plugin that exports the engine's load-plugin-source is refused (PLUGIN_UNKNOWN_EXPORT)", async () => {
    const engine = await jsEngine();
    // Limits raised so that the world check, not the size, is what refuses it.
    const th = testHost({ maxModuleBytes: 4 * 1024 * 1024, maxModuleGzipBytes: 4 * 1024 * 1024 });
    const error = await rejection(th.host.load({ manifest: manifest("test.js.engine-as-plugin"), wasm: engine.bytes }));
    await th.host.close();
    expect(error.code).toBe("PLUGIN_UNKNOWN_EXPORT");
    expect(error.message).toMatch(/^unknown export: load-plugin-source is func\(source: string, file-name: string\) -> result<_, string>/);
  });
});

describe("JS plugins: metered like any component", () => {
  const fuel = { max_fuel: 200_000_000 };

  it("T82 an infinite loop at the top level of the JS or in init fails the load with fuel exhaustion; the next load works", async () => {
    for (const [id, source] of [
      ["test.js.loop-top", pluginJs({ top: "for (;;) {}" })],
      ["test.js.loop-init", pluginJs({ init: "for (;;) {}" })],
    ] as const) {
      const error = await rejection(t.host.load({ manifest: jsManifest(id, fuel), js: source }));
      expect(error.code).toBe("PLUGIN_INIT_FAILED");
      expect(error.message).toMatch(/^plugin init failed: .*fuel/);
      expect(ResourceExhaustedError.isInstance(error.cause)).toBe(true);
      expect((error.cause as ResourceExhaustedError).kind).toBe("fuel");
    }
    const p = await t.host.load({ manifest: jsManifest("test.js.loop-top", fuel), js: pluginJs() });
    await expect(p.executeTool("echo", 1)).resolves.toEqual({ echo: 1 });
    await p.close();
  });

  it("T82 an infinite loop in a tool is fuel exhaustion; the next call (a fresh engine instance) and another plugin work", async () => {
    const p = await t.host.load({ manifest: jsManifest("test.js.spin", fuel), js: pluginJs() });
    const other = await t.host.load({ manifest: jsManifest("test.js.spin-other", fuel), js: pluginJs() });
    const error = await rejection(p.executeTool("spin", {}));
    expect(ResourceExhaustedError.isInstance(error)).toBe(true);
    expect(error.kind).toBe("fuel");
    expect(error.limit).toBe(200_000_000);
    await expect(p.executeTool("echo", "after")).resolves.toEqual({ echo: "after" });
    await expect(other.executeTool("echo", "other")).resolves.toEqual({ echo: "other" });
    await Promise.all([p.close(), other.close()]);
  });

  it("T82 a js plugin that allocates without end stops at max_memory_mb; the next call works", async () => {
    const p = await t.host.load({ manifest: jsManifest("test.js.grow", { max_memory_mb: 8 }), js: pluginJs() });
    const error = await rejection(p.executeTool("grow", {}));
    // QuickJS turns the refused memory.grow into a JS "out of memory" (an err the engine passes on) or traps.
    expect(["PLUGIN_TOOL_ERROR", "PLUGIN_TRAP", "RESOURCE_EXHAUSTED"]).toContain(error.code);
    expect(p.usage.peakMemoryBytes).toBeLessThanOrEqual(8 * 1024 * 1024);
    await expect(p.executeTool("echo", 3)).resolves.toEqual({ echo: 3 });
    await p.close();
  });
});

describe("JS plugins: the engine", () => {
  it("T83 an engine whose bytes do not hash to its sha256 is refused (PLUGIN_JS_ENGINE_TAMPERED); component plugins of that host still load", async () => {
    const engine = await jsEngine();
    const bytes = engine.bytes.slice();
    bytes[bytes.length - 10] = (bytes[bytes.length - 10] ?? 0) ^ 0xff;
    const th = testHost({ jsEngine: { bytes, sha256: JS_ENGINE_SHA256 } });
    const error = await rejection(th.host.load({ manifest: jsManifest("test.js.tampered"), js: pluginJs() }));
    expect(PluginError.isInstance(error)).toBe(true);
    expect(error.code).toBe("PLUGIN_JS_ENGINE_TAMPERED");
    expect(error.message).toMatch(new RegExp(`^js engine tampered: its sha256 is [0-9a-f]{64}, expected ${JS_ENGINE_SHA256}$`));
    // Asked again: still refused (the check is not skipped the second time).
    expect((await rejection(th.host.load({ manifest: jsManifest("test.js.tampered"), js: pluginJs() }))).code).toBe("PLUGIN_JS_ENGINE_TAMPERED");
    const component = await th.host.load({ manifest: manifest("test.js.tampered-component"), wasm: await fixture("tool-basic") });
    await expect(component.executeTool("echo", { ok: true })).resolves.toBeDefined();
    await th.host.close();
  });

  it("T83 an engine given explicitly (a function, called once) is used; one that is not { bytes, sha256 } is PLUGIN_JS_ENGINE_MISSING", async () => {
    let calls = 0;
    const th = testHost({
      jsEngine: async () => {
        calls++;
        return jsEngine();
      },
    });
    const a = await th.host.load({ manifest: jsManifest("test.js.explicit-a"), js: pluginJs() });
    const b = await th.host.load({ manifest: jsManifest("test.js.explicit-b"), js: pluginJs() });
    await expect(b.executeTool("echo", "b")).resolves.toEqual({ echo: "b" });
    expect(calls).toBe(1);
    await Promise.all([a.close(), b.close(), th.host.close()]);
    const bad = testHost({ jsEngine: { bytes: "no", sha256: JS_ENGINE_SHA256 } as never });
    const error = await rejection(bad.host.load({ manifest: jsManifest("test.js.bad-engine"), js: pluginJs() }));
    expect(error.code).toBe("PLUGIN_JS_ENGINE_MISSING");
    expect(error.message).toBe("js engine missing: expected { bytes: Uint8Array, sha256: <64 hex digits> }");
    await bad.host.close();
  });
});
