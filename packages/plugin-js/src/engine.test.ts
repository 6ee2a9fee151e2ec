import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { setFlagsFromString } from "node:v8";
import { afterEach, describe, expect, it } from "vitest";
import { runComponent, type TestHost } from "@clawft/wasm-fixtures";
import { JS_ENGINE_BYTES, JS_ENGINE_FILE, JS_ENGINE_SHA256, jsEngine, jsEngineSync } from "./index.js";
// @ts-expect-error a plain .mjs script of this package (no types)
import { engineSourcesDigest } from "../scripts/engine-sources.mjs";

// componentize-qjs output uses extended-const: behind a flag on Node 20, shipped from Node 22 (which no longer knows the flag).
if (Number(process.versions.node.split(".")[0]) < 22) setFlagsFromString("--experimental-wasm-extended-const");

type LoadPluginSource = (source: string, fileName: string) => void;

const logs: string[] = [];
const host: TestHost = {
  httpRequest: () => {
    throw Object.assign(new Error("refused"), { payload: "host not in network allowlist" });
  },
  readFile: (path) => `content of ${path}`,
  writeFile: () => undefined,
  getEnv: () => undefined,
  log: (_level, message) => {
    logs.push(message);
  },
};

const disposers: Array<() => Promise<void>> = [];
afterEach(async () => {
  logs.length = 0;
  await Promise.all(disposers.splice(0).map((d) => d()));
});

/** A fresh engine instance (unsandboxed, unmetered: this tests the engine script, not the host). */
async function engine(): Promise<{ load: LoadPluginSource; plugin: Awaited<ReturnType<typeof runComponent>>["plugin"] }> {
  const run = await runComponent(jsEngineSync().bytes, host);
  disposers.push(run.dispose);
  return { load: run.exports.loadPluginSource as LoadPluginSource, plugin: run.plugin };
}

/** The err text a jco export throws (a ComponentError whose payload is the text). */
function errOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toHaveProperty("payload");
    return String((e as { payload: unknown }).payload);
  }
  throw new Error("expected an err");
}

const describeJson = JSON.stringify({ name: "t", version: "0.1.0", tools: [{ name: "echo", description: "e", parameters: { type: "object" } }] });
const echo = `const host = require("host");
module.exports.plugin = {
  describe() { return ${JSON.stringify(describeJson)}; },
  executeTool(name, params) { host.log(2, "called " + name); return JSON.stringify({ name, params: JSON.parse(params), file: host.readFile("a.txt") }); },
};`;

describe("the engine component", () => {
  it("is the file whose sha256 and size were recorded at build", async () => {
    const bytes = readFileSync(JS_ENGINE_FILE);
    expect(createHash("sha256").update(bytes).digest("hex")).toBe(JS_ENGINE_SHA256);
    expect(bytes.byteLength).toBe(JS_ENGINE_BYTES);
    const engineBytes = await jsEngine();
    expect(engineBytes.sha256).toBe(JS_ENGINE_SHA256);
    expect(Buffer.from(engineBytes.bytes).equals(bytes)).toBe(true);
    // A fresh copy each time: changing one changes nothing for the next caller.
    engineBytes.bytes[0] = 0;
    expect(jsEngineSync().bytes[0]).toBe(bytes[0]);
  });

  it("was built from the sources in this repository (engine/sources.sha256; rebuild with `pnpm build:engine`)", async () => {
    const recorded = readFileSync(new URL("../engine/sources.sha256", import.meta.url), "utf8").trim();
    expect(await engineSourcesDigest()).toBe(recorded);
  });

  it("runs the plugin it is handed: require('host') is the host import, module.exports.plugin the plugin", async () => {
    const e = await engine();
    e.load(echo, "dist/plugin.js");
    e.plugin.init();
    expect(JSON.parse(e.plugin.describe())).toEqual(JSON.parse(describeJson));
    expect(JSON.parse(e.plugin.executeTool("echo", '{"a":1}'))).toEqual({ name: "echo", params: { a: 1 }, file: "content of a.txt" });
    expect(logs).toEqual(["called echo"]);
  });

  it("passes on what the plugin throws as the err text: a string as it is, an Error by payload or message", async () => {
    const e = await engine();
    e.load(
      `const host = require("host");
      module.exports.plugin = { describe() { return "{}"; }, executeTool(name) {
        if (name === "string") throw "bad input";
        if (name === "host") host.httpRequest("GET", "https://x.example/", [], undefined);
        throw new Error("broken");
      } };`,
      "p.js",
    );
    expect(errOf(() => e.plugin.executeTool("string", "{}"))).toBe("bad input");
    expect(errOf(() => e.plugin.executeTool("host", "{}"))).toBe("host not in network allowlist");
    expect(errOf(() => e.plugin.executeTool("error", "{}"))).toBe("broken");
  });

  it("refuses a payload that does not compile, throws at its top level or exports no plugin", async () => {
    const a = await engine();
    expect(errOf(() => a.load("module.exports = {", "a.js"))).toMatch(/^js plugin does not compile: /);
    const b = await engine();
    expect(errOf(() => b.load("throw 'nope'", "b.js"))).toBe("js plugin threw while loading: nope");
    const c = await engine();
    expect(errOf(() => c.load("module.exports.plugin = { describe() { return '{}'; } };", "c.js"))).toBe(
      "js plugin exports no plugin: module.exports.plugin needs executeTool and describe functions",
    );
  });

  it("T81 gives the payload nothing but host: require of anything else throws, before the plugin exists", async () => {
    for (const name of ["fs", "node:fs", "child_process", "componentize-qjs:shim.js", "./other.js"]) {
      const e = await engine();
      expect(errOf(() => e.load(`require(${JSON.stringify(name)});`, "p.js"))).toBe(
        `js plugin threw while loading: js plugin cannot require "${name}": bundle it (only "host" is external)`,
      );
    }
  });

  it("T81 takes one payload per instance: a second load-plugin-source is refused and the first plugin stays", async () => {
    const e = await engine();
    e.load(echo, "p.js");
    expect(errOf(() => e.load(`module.exports.plugin = { describe() { return "{}"; }, executeTool() { return "evil"; } };`, "q.js"))).toBe(
      "js engine: a plugin is already loaded",
    );
    expect(JSON.parse(e.plugin.executeTool("echo", "{}")).name).toBe("echo");
  });

  it("T81 refuses plugin calls before a payload is loaded (a failed load leaves none)", async () => {
    const e = await engine();
    expect(errOf(() => e.plugin.init())).toBe("js engine: no plugin loaded");
    expect(errOf(() => e.plugin.executeTool("echo", "{}"))).toBe("js engine: no plugin loaded");
    const f = await engine();
    expect(() => f.load("throw 1", "p.js")).toThrow();
    expect(errOf(() => f.plugin.executeTool("echo", "{}"))).toBe("js engine: no plugin loaded");
    expect(errOf(() => f.load(echo, "p.js"))).toBe("js engine: a plugin is already loaded");
  });

  it("T82 evaluates the payload's top level inside load-plugin-source, the call the host meters, before init", async () => {
    const e = await engine();
    e.load(`const host = require("host"); let n = 0; for (let i = 0; i < 100000; i++) n += i; host.log(2, "top " + n);
      module.exports.plugin = { init() { host.log(2, "init"); }, describe() { return "{}"; }, executeTool() { return ""; } };`, "p.js");
    expect(logs).toEqual(["top 4999950000"]);
    e.plugin.init();
    expect(logs).toEqual(["top 4999950000", "init"]);
  });
});
